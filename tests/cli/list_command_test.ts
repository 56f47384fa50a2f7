import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";

const NOW = Date.UTC(2024, 5, 1, 12);
const HOUR = 3_600_000;

async function run(args: string[], now = NOW) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: new WritableStream({ write: (c) => void (stdout += new TextDecoder().decode(c)) }),
    stderr: (t) => stderr += t,
    stderrIsTerminal: false,
    env: () => undefined,
    now: () => now,
  });
  return { code, stdout, stderr };
}

Deno.test("dsm list prints a table of every symbol's first and last archive, files and holes", async () => {
  await using emu = await startEmulator({
    now: NOW,
    missingFiles: [
      "ETHUSDT-1m-2024-01-05.zip",
      "ETHUSDT-1m-2024-01-06.zip",
      "ETHUSDT-1m-2023-03.zip",
    ],
  });
  const got = await run([
    "list",
    ...["--market", "um", "--dataset", "klines", "--interval", "1m"],
    ...["--listing-url", emu.url, "--no-cache"],
  ]);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(
    got.stdout,
    [
      "SYMBOL   FIRST       LAST        DAILY  MONTHLY  HOLES",
      "BTCUSDT  2019-12-31  2024-05-31   1614       54  -",
      "ETHUSDT  2019-12-31  2024-05-31   1612       53  days: 2024-01-05..2024-01-06; months: 2023-03",
      "NEWUSDT  2024-03-20  2024-05-31     73        3  -",
      "",
    ].join("\n"),
  );
  assert.match(got.stderr, /^dsm: 3 series of um klines 1m\n$/);
});

Deno.test("dsm list --json prints the index; --symbol takes a name or a glob", async () => {
  await using emu = await startEmulator({ now: NOW });
  const json = await run([
    "list",
    ...["--market", "cm", "--dataset", "fundingRate", "--json"],
    ...["--listing-url", emu.url, "--no-cache", "--symbol", "BTC*"],
  ]);
  assert.equal(json.code, 0, json.stderr);
  const index = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(index), ["market", "dataset", "series", "failed"]);
  assert.equal(index.failed, 0);
  assert.equal(index.series.length, 1);
  assert.deepEqual(index.series[0], {
    symbol: "BTCUSD_PERP",
    status: "ok",
    listedAt: NOW,
    cached: false,
    daily: { count: 0, holes: [] },
    monthly: { first: "2020-08", last: "2024-05", count: 46, holes: [] },
    checksumsMissing: [],
  });
  const one = await run([
    "list",
    ...["--market", "spot", "--interval", "1d", "--symbol", "oldusdt"],
    ...["--listing-url", emu.url, "--no-cache"],
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^SYMBOL .*\nOLDUSDT +2018-01-01 +2022-06-30 +1642 +54 +-\n$/);
});

Deno.test("dsm list: a series whose listing failed is a row that says so, exit 1", async () => {
  await using emu = await startEmulator({ now: NOW });
  // A listing URL that forwards to the emulator but fails NEWUSDT's folders.
  await using proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.searchParams.get("prefix")?.includes("/NEWUSDT/")) {
      return new Response("<Error><Code>AccessDenied</Code></Error>", { status: 403 });
    }
    return fetch(`${emu.url}${url.pathname}${url.search}`);
  });
  const got = await run([
    "list",
    ...["--market", "um", "--interval", "1d", "--no-cache"],
    ...["--listing-url", `http://127.0.0.1:${proxy.addr.port}`],
  ]);
  assert.equal(got.code, 1);
  assert.match(got.stdout, /\nNEWUSDT +- +- +- +- +failed: .*403.*\(HTTP_ERROR\)\n$/);
  assert.match(got.stdout, /\nBTCUSDT +2019-12-31 /);
  assert.match(got.stderr, /1 could not be listed/);
});

Deno.test("dsm list keeps listings in the cache folder for an hour", async () => {
  await using emu = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    const args = ["list", "--market", "cm", "--interval", "1h", "--listing-url", emu.url];
    const cacheArgs = ["--cache-dir", dir];
    const first = await run([...args, ...cacheArgs]);
    assert.equal(first.code, 0, first.stderr);
    const listed = emu.stats.requests.listing;
    const second = await run([...args, ...cacheArgs], NOW + HOUR / 2);
    assert.equal(second.stdout, first.stdout);
    assert.match(second.stderr, /\(2 from the cache\)/);
    assert.equal(emu.stats.requests.listing, listed);
    await run([...args, ...cacheArgs], NOW + HOUR);
    assert.ok(emu.stats.requests.listing > listed);
    const before = emu.stats.requests.listing;
    await run([...args, "--no-cache"], NOW + HOUR);
    assert.ok(emu.stats.requests.listing > before);
    assert.ok((await Deno.stat(join(dir, "v1", "index", "cm", "klines", "symbols.json"))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm list usage errors exit 2 before any request", async () => {
  await using emu = await startEmulator({ now: NOW });
  const url = ["--listing-url", emu.url];
  const cases: [string[], RegExp][] = [
    [["--market", "um"], /--interval is required/],
    [["--market", "um", "--dataset", "fundingRate", "--interval", "1h"], /no intervals/],
    [["--market", "spot", "--dataset", "fundingRate"], /not published for spot/],
    [["--market", "mars", "--interval", "1h"], /market/i],
    [["--market", "um", "--interval", "1s"], /1s/],
    [["--interval", "1h", "--symbol", "BTC-USDT"], /did you mean BTCUSDT\?/],
    [["--interval", "1h", "--concurrency", "0"], /--concurrency "0"/],
    [["--interval", "1h", "--cache-dir", "x", "--no-cache"], /--cache-dir with --no-cache/],
    [["--interval", "1h", "--listing-url", "ftp://x"], /expected an http or https URL/],
    [["--interval", "1h", "--bogus"], /bogus/],
  ];
  for (const [args, message] of cases) {
    const got = await run(["list", ...url, ...args]);
    assert.equal(got.code, 2, args.join(" "));
    assert.match(got.stderr, message);
    assert.match(got.stderr, /Usage: dsm/);
    assert.equal(got.stdout, "");
  }
  assert.equal(emu.stats.requests.listing, 0);
  const help = await run(["list", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /dsm list options/);
});

Deno.test("dsm list in a subprocess with only --allow-net=127.0.0.1: table on stdout, exit 0", async () => {
  await using emu = await startEmulator({ now: NOW });
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "src/cli/main.ts",
      ...["list", "--market", "cm", "--interval", "1d", "--listing-url", emu.url, "--no-cache"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(code, 0, text.decode(stderr));
  assert.match(
    text.decode(stdout),
    /^SYMBOL +FIRST +LAST +DAILY +MONTHLY +HOLES\nBTCUSD_PERP +2020-08-11 /,
  );
});
