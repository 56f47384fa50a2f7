import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import {
  DataSourceManager,
  type DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import { fetchMarketData } from "../../src/fcp/fetch_market_data.ts";
import type { FetchReport } from "../../src/fcp/fetch_report.ts";
import { causeMessage, NetworkError } from "../../src/core/errors.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const DAY = 86_400_000;
const RETRY = { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 };
const BTC = { symbol: "BTCUSDT", interval: "1h" as const };

/** A loopback port nothing listens on: connections to it are refused. */
function closedPort(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

/** A fetch that fails like Deno's without DNS, counting calls per host. */
function offlineFetch(calls: Map<string, number>): typeof fetch {
  return (input) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    calls.set(url.host, (calls.get(url.host) ?? 0) + 1);
    return Promise.reject(
      new TypeError(
        `error sending request for url (${url}): client error (Connect): dns error: ` +
          "failed to lookup address information: Name or service not known",
      ),
    );
  };
}

/** Counts the calls of the real fetch. */
function countingFetch(counter: { calls: number }): typeof fetch {
  return (input, init) => {
    counter.calls++;
    return fetch(input, init);
  };
}

function manager(options: DataSourceManagerOptions): DataSourceManager {
  return new DataSourceManager({ cache: false, now: () => NOW, retry: RETRY, ...options });
}

Deno.test("getData without DNS throws a NetworkError with the runtime's reason, after a few attempts per host", async () => {
  const calls = new Map<string, number>();
  const logged: string[] = [];
  await using dsm = manager({
    fetch: offlineFetch(calls),
    logger: (m) => logged.push(m),
    endpoints: {
      vision: "https://vision.invalid",
      listing: "https://listing.invalid",
      rest: "https://rest.invalid",
    },
  });
  // A month of 1h: without the circuit breaker, 5 attempts for the listing,
  // the monthly archive, each daily archive and each day's REST span (~470 calls).
  const error = await dsm.getData({ ...BTC, start: "2025-01-01", end: "2025-02-01" }).then(
    () => assert.fail("expected a NetworkError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof NetworkError, String(error));
  assert.equal(error.code, "NETWORK_ERROR");
  assert.match(error.message, /Cannot fetch any kline of spot BTCUSDT 1h/);
  assert.match(causeMessage(error.cause), /dns error: failed to lookup address information/);
  const total = [...calls.values()].reduce((a, b) => a + b, 0);
  assert.ok(total <= 40, `${total} calls: ${JSON.stringify([...calls])}`);
  for (const host of ["vision.invalid", "rest.invalid"]) {
    assert.ok((calls.get(host) ?? 0) >= 1 && (calls.get(host) ?? 0) <= 20, host);
  }
  // Said once per host, through the logger.
  const opened = logged.filter((m) => m.startsWith("Cannot reach"));
  assert.deepEqual(
    opened.map((m) => /"https:\/\/([^"]+)"/.exec(m)![1]).sort(),
    ["listing.invalid", "rest.invalid", "vision.invalid"],
  );
});

Deno.test("fetchMarketData with every endpoint refused throws a NetworkError, not an empty table", async () => {
  const dead = closedPort();
  const counter = { calls: 0 };
  await assert.rejects(
    fetchMarketData({
      ...BTC,
      start: NOW - 3 * DAY,
      end: NOW,
      source: "rest",
      cache: false,
      now: () => NOW,
      retry: RETRY,
      fetch: countingFetch(counter),
      endpoints: { vision: dead, listing: dead, rest: dead },
    }),
    (e: unknown) => {
      assert.ok(e instanceof NetworkError, String(e));
      assert.match(causeMessage(e), /Connection refused/);
      return true;
    },
  );
  // One REST span: the third refused connection opens the host's circuit
  // (5 attempts were allowed); nothing is sent after it.
  assert.equal(counter.calls, 3);
});

Deno.test("A partial result that is strict throws DataNotAvailableError with the failure as its cause", async () => {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW });
  const dead = closedPort();
  await using dsm = manager({ endpoints: { vision: emu.url, listing: emu.url, rest: dead } });
  // The closed days come from Vision; today needs REST, which refuses connections.
  const c = { ...BTC, start: Date.UTC(2025, 1, 8), end: NOW };
  const { table, report } = await dsm.getDataWithReport(c);
  assert.ok(table.numRows > 24);
  assert.equal(report.partial, true);
  await assert.rejects(dsm.getData({ ...c, strict: true }), (e: unknown) => {
    assert.ok(e instanceof Error && e.name === "DataNotAvailableError", String(e));
    assert.ok(e.cause instanceof NetworkError, String(e.cause));
    assert.match(causeMessage(e.cause), /Connection refused/);
    return true;
  });
});

Deno.test("The report counts only REST responses received, names only sources with rows, and says why it is partial", async () => {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW });
  const dead = closedPort();
  await using dsm = manager({ endpoints: { vision: emu.url, listing: emu.url, rest: dead } });
  const { report } = await dsm.getDataWithReport({ ...BTC, start: Date.UTC(2025, 1, 8), end: NOW });
  assert.equal(report.partial, true);
  // Three requests were sent to the closed port; none was answered.
  assert.equal(report.requests.restCalls, 0);
  assert.equal(report.requests.restWeight, 0);
  assert.ok(report.requests.visionFiles >= 2);
  const today = report.partitions.find((p) => p.key === "2025-02-10")!;
  assert.deepEqual(today.sources, []);
  assert.ok(report.partitions.filter((p) => p.key !== "2025-02-10").every((p) => p.sources.length));
  // The host that could not be reached is reported once, with the reason.
  const network = report.failures.filter((f) => f.code === "NETWORK_ERROR");
  assert.equal(network.length, 1, JSON.stringify(report.failures));
  assert.match(network[0].message, /Connection refused/);
});

Deno.test("Two concurrent fetches on one manager each report exactly their own REST requests", async () => {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW });
  const endpoints = { vision: emu.url, listing: emu.url, rest: emu.url };
  const a = {
    ...BTC,
    interval: "1m" as const,
    start: NOW - 2 * DAY,
    end: NOW,
    source: "rest" as const,
  };
  const b = {
    ...BTC,
    interval: "5m" as const,
    start: NOW - 9 * DAY,
    end: NOW,
    source: "rest" as const,
  };
  const alone = async (request: typeof a | typeof b) => {
    await using dsm = manager({ endpoints });
    return (await dsm.getDataWithReport(request)).report;
  };
  const soloA = await alone(a);
  const soloB = await alone(b);
  assert.ok(soloA.requests.restCalls >= 3 && soloB.requests.restCalls >= 2);
  emu.reset();
  await using dsm = manager({ endpoints });
  const [ra, rb] = await Promise.all([dsm.getDataWithReport(a), dsm.getDataWithReport(b)]);
  const counts = (r: FetchReport) => [r.requests.restCalls, r.requests.restWeight];
  assert.deepEqual(counts(ra.report), counts(soloA));
  assert.deepEqual(counts(rb.report), counts(soloB));
  assert.equal(emu.stats.requests.rest, soloA.requests.restCalls + soloB.requests.restCalls);
});

Deno.test("A partial result from sources not allowed says why in its failures", async () => {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW });
  await using dsm = manager({ endpoints: { vision: emu.url, listing: emu.url, rest: emu.url } });
  const cache = await dsm.getDataWithReport({
    ...BTC,
    start: Date.UTC(2025, 1, 1),
    end: Date.UTC(2025, 1, 4),
    source: "cache",
  });
  assert.equal(cache.report.partial, true);
  assert.deepEqual(cache.report.failures.map((f) => [f.code, f.message]), [[
    "SOURCE_NOT_ALLOWED",
    '3 partitions (2025-02-01 to 2025-02-03) not in the cache, and no other source allowed (source "cache")',
  ]]);
  const vision = await dsm.getDataWithReport({
    ...BTC,
    start: Date.UTC(2025, 1, 9),
    end: NOW,
    source: "vision",
  });
  assert.equal(vision.report.partial, true);
  assert.deepEqual(vision.report.failures.map((f) => [f.partition, f.code, f.message]), [[
    "2025-02-10",
    "SOURCE_NOT_ALLOWED",
    '2025-02-10 not on Vision yet, and REST not allowed (source "vision")',
  ]]);
  assert.equal(emu.stats.requests.rest, 0);
});

Deno.test("A corrupt cache file that was set aside and fetched again appears in the report", async () => {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW });
  const dir = await Deno.makeTempDir({ prefix: "dsm_failure_report_" });
  try {
    const endpoints = { vision: emu.url, listing: emu.url, rest: emu.url };
    await using dsm = manager({ cache: { dir }, endpoints });
    const c = { ...BTC, start: Date.UTC(2025, 1, 5), end: Date.UTC(2025, 1, 7) };
    const cold = await dsm.getDataWithReport(c);
    assert.ok(cold.report.partitions.every((p) => p.cached));
    await Deno.writeTextFile(`${dir}/v1/binance/spot/klines/BTCUSDT/1h/2025-02-06.arrow`, "junk");
    const warm = await dsm.getDataWithReport(c);
    assert.equal(warm.table.numRows, cold.table.numRows);
    assert.equal(warm.report.partial, false);
    assert.deepEqual(warm.report.partitions.map((p) => [p.key, p.sources.join()]), [
      ["2025-02-05", "cache"],
      ["2025-02-06", "vision-daily"],
    ]);
    assert.equal(warm.report.failures.length, 1, JSON.stringify(warm.report.failures));
    const [setAside] = warm.report.failures;
    assert.equal(setAside.partition, "2025-02-06");
    assert.equal(setAside.code, "CACHE_ERROR");
    assert.match(
      setAside.message,
      /^Cached partition "2025-02-06" was corrupt \(.+\): set aside and fetched again$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("getData refuses a range wholly in the future with a RangeError, before any request", async () => {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW });
  await using dsm = manager({ endpoints: { vision: emu.url, listing: emu.url, rest: emu.url } });
  await assert.rejects(
    dsm.getData({ ...BTC, start: NOW + DAY, end: NOW + 2 * DAY }),
    (e: unknown) => {
      assert.ok(e instanceof RangeError, String(e));
      assert.equal((e as { code?: string }).code, "INVALID_RANGE");
      assert.match(e.message, /is in the future/);
      return true;
    },
  );
  const { requests } = emu.stats;
  assert.equal(requests.vision + requests.checksum + requests.listing + requests.rest, 0);
});
