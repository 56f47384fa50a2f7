import assert from "node:assert/strict";
import { join } from "node:path";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DEFAULT_SYMBOLS } from "../../src/emulator/symbol_catalogue.ts";
import { availabilityIndex, type AvailabilityOk } from "../../src/fcp/availability_index.ts";
import { listVisionSymbols, seriesAvailability } from "../../src/source/availability_listing.ts";
import { InvalidIntervalError, InvalidSymbolError } from "../../src/core/errors.ts";

const NOW = Date.UTC(2024, 5, 1, 12);
const HOUR = 3_600_000;

/** A fetch that counts listing requests (by prefix) and can fail or rewrite some. */
function recording(options: {
  fail?: (prefix: string) => boolean;
  rewrite?: (xml: string) => string;
} = {}) {
  const prefixes: string[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const prefix = new URL(String(input)).searchParams.get("prefix") ?? "";
    prefixes.push(prefix);
    if (options.fail?.(prefix)) return new Response("Internal Error", { status: 500 });
    const response = await fetch(input, init);
    if (!options.rewrite) return response;
    return new Response(options.rewrite(await response.text()), { status: response.status });
  };
  return { fetch: fetcher, prefixes };
}

function ok(entry: unknown): AvailabilityOk {
  assert.equal((entry as AvailabilityOk).status, "ok", JSON.stringify(entry));
  return entry as AvailabilityOk;
}

Deno.test("listVisionSymbols lists the symbol folders of each market and dataset", async () => {
  await using emu = await startEmulator({ now: NOW });
  const options = { listingUrl: emu.url };
  assert.deepEqual(await listVisionSymbols({ market: "spot" }, options), [
    "BTCUSDT",
    "ETHUSDT",
    "NEWUSDT",
    "OLDUSDT",
    "币安人生USDT",
  ]);
  assert.deepEqual(await listVisionSymbols({ market: "futures_usdt" }, options), [
    "BTCUSDT",
    "ETHUSDT",
    "NEWUSDT",
  ]);
  assert.deepEqual(await listVisionSymbols({ market: "cm", period: "monthly" }, options), [
    "BTCUSD_PERP",
    "ETHUSD_PERP",
  ]);
  assert.deepEqual(
    await listVisionSymbols({ market: "cm", dataset: "fundingRate" }, options),
    ["BTCUSD_PERP", "ETHUSD_PERP"],
  );
  assert.ok((await listVisionSymbols({ market: "um", dataset: "aggTrades" }, options)).length > 0);
  await assert.rejects(
    listVisionSymbols({ market: "um", dataset: "fundingRate", period: "daily" }, options),
    /period "daily" is not one of monthly/,
  );
});

Deno.test("listVisionSymbols follows NextMarker across pages of more than 1000 symbol folders", async () => {
  const btc = DEFAULT_SYMBOLS.find((s) => s.market === "spot" && s.symbol === "BTCUSDT")!;
  const symbols = Array.from(
    { length: 2_345 },
    (_, i) => ({ ...btc, symbol: `S${String(i).padStart(4, "0")}USDT` }),
  );
  await using emu = await startEmulator({ now: NOW, symbols });
  const { fetch, prefixes } = recording();
  const listed = await listVisionSymbols({ market: "spot", period: "daily" }, {
    listingUrl: emu.url,
    fetch,
  });
  assert.deepEqual(listed, symbols.map((s) => s.symbol));
  assert.equal(prefixes.length, 3); // 1000 + 1000 + 345 common prefixes
});

Deno.test("seriesAvailability: BTCUSDT 1m first and last archives, daily pages chained by marker", async () => {
  await using emu = await startEmulator({ now: NOW });
  const { fetch, prefixes } = recording();
  const got = await seriesAvailability(
    { market: "spot", symbol: "BTCUSDT", interval: "1m" },
    { listingUrl: emu.url, fetch },
  );
  assert.deepEqual(got.daily, { first: "2017-08-17", last: "2024-05-31", count: 2480, holes: [] });
  assert.deepEqual(got.monthly, { first: "2017-08", last: "2024-05", count: 82, holes: [] });
  assert.deepEqual(got.checksumsMissing, []);
  // 4960 daily keys: 5 pages; 164 monthly keys: 1 page.
  assert.equal(prefixes.filter((p) => p.includes("/daily/")).length, 5);
  assert.equal(prefixes.filter((p) => p.includes("/monthly/")).length, 1);
});

Deno.test("seriesAvailability: funding rates and trades have no interval folder", async () => {
  await using emu = await startEmulator({ now: NOW });
  const options = { listingUrl: emu.url };
  const funding = await seriesAvailability(
    { market: "cm", dataset: "fundingRate", symbol: "BTCUSD_PERP" },
    options,
  );
  assert.deepEqual(funding.daily, { count: 0, holes: [] });
  assert.equal(funding.monthly.first, "2020-08");
  const old = await seriesAvailability(
    { market: "spot", dataset: "aggTrades", symbol: "OLDUSDT" },
    options,
  );
  assert.equal(old.daily.first, "2018-01-01");
  assert.equal(old.daily.last, "2022-06-30");
  const weekly = await seriesAvailability(
    { market: "um", symbol: "BTCUSDT", interval: "1w" },
    options,
  );
  assert.equal(weekly.daily.count, 0);
  assert.equal(weekly.monthly.first, "2019-12");
});

Deno.test("seriesAvailability reports holes for missing files and zips without a CHECKSUM", async () => {
  await using emu = await startEmulator({
    now: NOW,
    missingFiles: [
      "BTCUSDT-1h-2024-01-05.zip",
      "BTCUSDT-1h-2024-01-06.zip",
      "BTCUSDT-1h-2024-03-01.zip",
      "BTCUSDT-1h-2023-03.zip",
      "BTCUSDT-1h-2017-08-17.zip", // the first day: not a hole, the series starts later
    ],
  });
  const { fetch } = recording({
    rewrite: (xml) =>
      xml.replace(
        /<Contents><Key>[^<]*BTCUSDT-1h-2024-05-31\.zip\.CHECKSUM<\/Key>.*?<\/Contents>/,
        "",
      ),
  });
  const got = await seriesAvailability(
    { market: "spot", symbol: "BTCUSDT", interval: "1h" },
    { listingUrl: emu.url, fetch },
  );
  assert.equal(got.daily.first, "2017-08-18");
  assert.deepEqual(got.daily.holes, [
    { from: "2024-01-05", to: "2024-01-06" },
    { from: "2024-03-01", to: "2024-03-01" },
  ]);
  assert.equal(got.daily.count, 2480 - 4);
  assert.deepEqual(got.monthly.holes, [{ from: "2023-03", to: "2023-03" }]);
  assert.deepEqual(got.checksumsMissing, ["2024-05-31"]);
});

Deno.test("seriesAvailability refuses misuse before any request", async () => {
  let requests = 0;
  const options = { fetch: () => Promise.resolve(new Response(String(++requests))) };
  await assert.rejects(
    seriesAvailability({ market: "spot", symbol: "BTCUSDT" }, options),
    InvalidIntervalError,
  );
  await assert.rejects(
    seriesAvailability(
      { market: "um", dataset: "fundingRate", symbol: "BTCUSDT", interval: "1h" },
      options,
    ),
    /has no intervals/,
  );
  await assert.rejects(
    seriesAvailability({ market: "cm", symbol: "BTCUSDT", interval: "1h" }, options),
    InvalidSymbolError,
  );
  assert.equal(requests, 0);
});

Deno.test("availabilityIndex lists every series, a failed listing reported as failed, not empty", async () => {
  await using emu = await startEmulator({ now: NOW });
  const { fetch } = recording({ fail: (prefix) => prefix.includes("/ETHUSDT/") });
  const index = await availabilityIndex(
    { market: "um", interval: "1d" },
    { listingUrl: emu.url, fetch, cache: false, retry: { attempts: 1 } },
  );
  assert.deepEqual(index.series.map((s) => [s.symbol, s.status]), [
    ["BTCUSDT", "ok"],
    ["ETHUSDT", "failed"],
    ["NEWUSDT", "ok"],
  ]);
  assert.equal(index.failed, 1);
  const failed = index.series[1];
  assert.ok(failed.status === "failed");
  assert.equal(failed.code, "HTTP_ERROR");
  assert.match(failed.message, /500/);
  assert.equal(ok(index.series[2]).daily.first, "2024-03-20");
  // The symbol folders themselves cannot be listed: nothing to report on, an error.
  const down = recording({ fail: (prefix) => prefix.endsWith("/klines/") });
  await assert.rejects(
    availabilityIndex(
      { market: "um", interval: "1d" },
      { listingUrl: emu.url, fetch: down.fetch, cache: false, retry: { attempts: 1 } },
    ),
    { code: "HTTP_ERROR" },
  );
});

Deno.test("availabilityIndex: names skip the symbol listing, patterns filter it", async () => {
  await using emu = await startEmulator({ now: NOW });
  const named = recording();
  const index = await availabilityIndex(
    { market: "spot", interval: "1d", symbols: ["ETHUSDT", "NOPEUSDT"] },
    { listingUrl: emu.url, fetch: named.fetch, cache: false },
  );
  assert.ok(named.prefixes.every((p) => p.includes("USDT/1d/")));
  assert.equal(ok(index.series[0]).daily.first, "2017-08-17");
  assert.deepEqual(ok(index.series[1]).daily, { count: 0, holes: [] });
  const glob = await availabilityIndex(
    { market: "spot", interval: "1d", symbols: "?TCUSDT" },
    { listingUrl: emu.url, cache: false },
  );
  assert.deepEqual(glob.series.map((s) => s.symbol), ["BTCUSDT"]);
  const regexp = await availabilityIndex(
    { market: "spot", interval: "1d", symbols: /^[^A-Z]/ },
    { listingUrl: emu.url, cache: false },
  );
  assert.deepEqual(regexp.series.map((s) => s.symbol), ["币安人生USDT"]);
});

Deno.test("availabilityIndex lists series in parallel, at most `concurrency` at once", async () => {
  await using emu = await startEmulator({ now: NOW });
  let inFlight = 0, peak = 0;
  const counting: typeof fetch = async (input, init) => {
    peak = Math.max(peak, ++inFlight);
    try {
      return await fetch(input, init);
    } finally {
      inFlight--;
    }
  };
  const index = await availabilityIndex(
    { market: "um", dataset: "fundingRate" },
    { listingUrl: emu.url, fetch: counting, cache: false, concurrency: 2 },
  );
  assert.equal(index.series.length, 3);
  assert.ok(peak <= 2, `peak ${peak}`);
});

Deno.test("availabilityIndex caches listings in the cache folder until they expire", async () => {
  await using emu = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    let now = NOW;
    const { fetch, prefixes } = recording();
    const run = (listingUrl = emu.url) =>
      availabilityIndex(
        { market: "cm", interval: "1d" },
        { listingUrl, fetch, cache: { dir, maxAgeMs: HOUR }, now: () => now },
      );
    const first = await run();
    const listed = prefixes.length;
    assert.ok(first.series.every((s) => ok(s).cached === false && ok(s).listedAt === NOW));
    const index = join(dir, "v1", "index", "cm", "klines");
    assert.ok((await Deno.stat(join(index, "symbols.json"))).isFile);
    assert.ok((await Deno.stat(join(index, "series", "1d", "BTCUSD_PERP.json"))).isFile);

    now = NOW + HOUR - 1;
    const second = await run();
    assert.equal(prefixes.length, listed); // not one request
    assert.deepEqual(
      second.series.map((s) => ({ ...ok(s), cached: false })),
      first.series,
    );
    assert.ok(second.series.every((s) => ok(s).cached && ok(s).listedAt === NOW));

    now = NOW + HOUR;
    const third = await run();
    assert.equal(prefixes.length, 2 * listed); // expired: listed again
    assert.ok(third.series.every((s) => ok(s).cached === false && ok(s).listedAt === NOW + HOUR));

    await run(`${emu.url}/`); // another listing URL: its own listing
    assert.equal(prefixes.length, 3 * listed);

    await Deno.writeTextFile(join(index, "series", "1d", "BTCUSD_PERP.json"), "{");
    const repaired = await run(`${emu.url}/`);
    assert.equal(ok(repaired.series[0]).cached, false);
    assert.equal(ok(repaired.series[1]).cached, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("availabilityIndex never caches a failed listing", async () => {
  await using emu = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    let failing = true;
    const { fetch } = recording({ fail: (p) => failing && p.includes("/BTCUSD_PERP/") });
    const run = () =>
      availabilityIndex(
        { market: "cm", dataset: "fundingRate" },
        { listingUrl: emu.url, fetch, cache: { dir }, now: () => NOW, retry: { attempts: 1 } },
      );
    assert.equal((await run()).failed, 1);
    failing = false;
    const again = await run();
    assert.equal(again.failed, 0);
    assert.equal(ok(again.series[0]).cached, false);
    assert.equal(ok(again.series[1]).cached, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("availabilityIndex refuses misuse before any request", async () => {
  let requests = 0;
  const options = {
    cache: false as const,
    fetch: () => Promise.resolve(new Response(String(++requests))),
  };
  await assert.rejects(availabilityIndex({ market: "spot" }, options), InvalidIntervalError);
  await assert.rejects(
    availabilityIndex({ market: "um", dataset: "fundingRate", interval: "1h" }, options),
    /has no intervals/,
  );
  await assert.rejects(
    availabilityIndex({ market: "spot", interval: "1h", symbols: ["BTC/USDT"] }, options),
    InvalidSymbolError,
  );
  await assert.rejects(
    availabilityIndex({ market: "spot", interval: "1h" }, { ...options, concurrency: 0 }),
    RangeError,
  );
  await assert.rejects(availabilityIndex({ market: "spot", dataset: "fundingRate" }, options), {
    code: "INVALID_DATASET",
  });
  assert.equal(requests, 0);
});
