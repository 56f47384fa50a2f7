/**
 * Hostile and wrong inputs through the library and the CLI: each is a typed
 * error (or a usage error, exit 2) raised before any I/O, and nothing is
 * written outside the cache root (nor any partition inside it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { fetchMarketData } from "../../src/fcp/fetch_market_data.ts";
import type { KlineRequest } from "../../src/fcp/kline_request.ts";
import { main } from "../../src/cli/main.ts";
import { dsm, NOW, RETRY, tempDir } from "./_harness.ts";

const OK = { symbol: "BTCUSDT", interval: "1h", start: "2024-01-01", end: "2024-01-02" };

type Code =
  | "INVALID_MARKET"
  | "INVALID_SYMBOL"
  | "INVALID_INTERVAL"
  | "INVALID_TIME"
  | "INVALID_RANGE"
  | "TYPE";

/** [description, request fields over OK (or a whole non-object request), expected code]. */
const API_CASES: [string, Record<string, unknown> | unknown, Code][] = [
  ["path traversal in the symbol", { symbol: "../../etc/passwd" }, "INVALID_SYMBOL"],
  ["backslash traversal", { symbol: "..\\..\\windows" }, "INVALID_SYMBOL"],
  ["slash in the symbol", { symbol: "BTC/USDT" }, "INVALID_SYMBOL"],
  ["NUL byte in the symbol", { symbol: "BTCUSDT\u0000" }, "INVALID_SYMBOL"],
  ["newline in the symbol", { symbol: "BTC\nUSDT" }, "INVALID_SYMBOL"],
  ["space in the symbol", { symbol: "BTC USDT" }, "INVALID_SYMBOL"],
  ["percent-encoding in the symbol", { symbol: "BTCUSDT%2F.." }, "INVALID_SYMBOL"],
  ["shell syntax in the symbol", { symbol: "$(touch pwned)" }, "INVALID_SYMBOL"],
  ["right-to-left override in the symbol", { symbol: "BTC\u202eUSDT" }, "INVALID_SYMBOL"],
  ["Greek letter that upper-cases like B", { symbol: "\u03b2TCUSDT" }, "INVALID_SYMBOL"],
  ["dot segment symbol", { symbol: ".." }, "INVALID_SYMBOL"],
  ["empty symbol", { symbol: "" }, "INVALID_SYMBOL"],
  ["31-character symbol", { symbol: "A".repeat(31) }, "INVALID_SYMBOL"],
  ["long s that upper-cases to S", { symbol: "btcu\u017fdt" }, "INVALID_SYMBOL"],
  ["dotless i that upper-cases to I", { symbol: "\u0131NCHUSDT" }, "INVALID_SYMBOL"],
  ["ligature that upper-cases to FF", { symbol: "\ufb00USDT" }, "INVALID_SYMBOL"],
  ["Kelvin sign that normalizes to K", { symbol: "\u212aUSDT" }, "INVALID_SYMBOL"],
  ["fullwidth lookalike of BTCUSDT", { symbol: "\uff22\uff34\uff23USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol with a slash", { symbol: "币安/../USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol with a dot", { symbol: "币安.USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol with an ideographic space", { symbol: "币安\u3000USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol with a zero-width joiner", { symbol: "币安\u200dUSDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol with a private-use character", { symbol: "币安\ue000USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol with a lone surrogate", { symbol: "币安\ud800USDT" }, "INVALID_SYMBOL"],
  ["percent-encoded non-ASCII symbol", { symbol: "%E5%B8%81USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol over 85 UTF-8 bytes", { symbol: "币".repeat(29) }, "INVALID_SYMBOL"],
  ["non-ASCII symbol on um", { market: "um", symbol: "币安人生USDT" }, "INVALID_SYMBOL"],
  ["non-ASCII symbol on cm", { market: "cm", symbol: "币安人生USD_PERP" }, "INVALID_SYMBOL"],
  ["numeric symbol", { symbol: 42 }, "INVALID_SYMBOL"],
  ["missing symbol", { symbol: undefined }, "INVALID_SYMBOL"],
  ["null symbol", { symbol: null }, "INVALID_SYMBOL"],
  ["USDT symbol on cm", { market: "cm", symbol: "BTCUSDT" }, "INVALID_SYMBOL"],
  ["cm symbol on spot", { symbol: "BTCUSD_PERP" }, "INVALID_SYMBOL"],
  ["cm symbol on um", { market: "um", symbol: "BTCUSD_PERP" }, "INVALID_SYMBOL"],
  ["unknown market", { market: "futures" }, "INVALID_MARKET"],
  ["upper-case market", { market: "SPOT" }, "INVALID_MARKET"],
  ["numeric market", { market: 1 }, "INVALID_MARKET"],
  ["1s on um", { market: "um", interval: "1s" }, "INVALID_INTERVAL"],
  ["1s on cm", { market: "cm", symbol: "BTCUSD_PERP", interval: "1s" }, "INVALID_INTERVAL"],
  ["unknown interval", { interval: "2m" }, "INVALID_INTERVAL"],
  ["upper-case interval", { interval: "1H" }, "INVALID_INTERVAL"],
  ["numeric interval", { interval: 60 }, "INVALID_INTERVAL"],
  ["empty interval", { interval: "" }, "INVALID_INTERVAL"],
  ["start equal to end", { start: "2024-01-01", end: "2024-01-01" }, "INVALID_RANGE"],
  ["start after end", { start: "2024-01-02", end: "2024-01-01" }, "INVALID_RANGE"],
  ["start before 2017", { start: "2016-12-31" }, "INVALID_TIME"],
  ["epoch zero", { start: 0 }, "INVALID_TIME"],
  ["start in seconds", { start: 1_704_067_200 }, "INVALID_TIME"],
  ["unparseable start", { start: "yesterday" }, "INVALID_TIME"],
  ["February 30", { start: "2024-02-30" }, "INVALID_TIME"],
  ["month 13", { start: "2024-13-01" }, "INVALID_TIME"],
  ["NaN start", { start: NaN }, "INVALID_TIME"],
  ["fractional ms", { start: 1_704_067_200_000.5 }, "INVALID_TIME"],
  ["invalid Date", { start: new Date("nope") }, "INVALID_TIME"],
  ["object start", { start: {} }, "INVALID_TIME"],
  ["boolean start", { start: true }, "INVALID_TIME"],
  ["missing end", { end: undefined }, "INVALID_TIME"],
  ["huge range to year 9999", { end: "9999-12-31" }, "INVALID_TIME"],
  ["end at MAX_SAFE_INTEGER", { end: Number.MAX_SAFE_INTEGER }, "INVALID_TIME"],
  ["infinite end", { end: Infinity }, "INVALID_TIME"],
  ["negative start", { start: -1 }, "INVALID_TIME"],
  ["unknown source", { source: "s3" }, "INVALID_RANGE"],
  ["unknown fill", { fill: "zero" }, "INVALID_RANGE"],
  ["string strict flag", { strict: "yes" }, "INVALID_RANGE"],
  ["numeric includeSourceInfo", { includeSourceInfo: 1 }, "INVALID_RANGE"],
  ["null request", null, "TYPE"],
  ["string request", "BTCUSDT", "TYPE"],
];

function assertCode(error: unknown, code: Code, label: string): void {
  assert.ok(error instanceof TypeError || error instanceof RangeError, `${label}: ${error}`);
  if (code === "TYPE") return;
  assert.equal((error as { code?: string }).code, code, `${label}: ${(error as Error).message}`);
  assert.match((error as Error).message, /^Cannot /, label);
}

/** Asserts that nothing at all was created under `sandbox`: not even the cache root is opened. */
async function assertNothingWritten(sandbox: string): Promise<void> {
  assert.deepEqual(await Array.fromAsync(Deno.readDir(sandbox), (e) => e.name), []);
}

Deno.test("Bad input through the API: every request is refused with a typed error before any I/O", async () => {
  assert.ok(API_CASES.length >= 40);
  await using sandbox = await tempDir();
  const calls: string[] = [];
  await using dsm = new DataSourceManager({
    cache: { dir: join(sandbox.path, "cache") },
    now: () => NOW,
    retry: RETRY,
    fetch: (input) => {
      calls.push(String(input instanceof Request ? input.url : input));
      return Promise.reject(new Error("no I/O expected"));
    },
  });
  for (const [label, fields, code] of API_CASES) {
    const request = (fields !== null && typeof fields === "object"
      ? { ...OK, ...fields }
      : fields) as KlineRequest;
    // refused synchronously by the stream, and as a rejection by getData
    assert.throws(() =>
      dsm.stream(request), (e) => (assertCode(e, code, label), true));
    await assert.rejects(dsm.getDataWithReport(request), (e) => (assertCode(e, code, label), true));
  }
  assert.deepEqual(calls, []);
  await assertNothingWritten(sandbox.path);
});

Deno.test("Bad input through the API: manager options are checked in the constructor", () => {
  for (
    const [options, code] of [
      [{ market: "bogus" }, "INVALID_MARKET"],
      [{ market: "../spot" }, "INVALID_MARKET"],
      [{ concurrency: 0 }, "INVALID_RANGE"],
      [{ concurrency: 1e6 }, "INVALID_RANGE"],
      [{ concurrency: 2.5 }, "INVALID_RANGE"],
    ] as const
  ) {
    assert.throws(
      () => new DataSourceManager({ cache: false, ...options } as never),
      (e) => (assertCode(e, code, JSON.stringify(options)), true),
    );
  }
});

/** [option (named in the message), manager options over the emulator's, error class]. */
const OPTION_CASES: [string, Record<string, unknown>, "TypeError" | "RangeError"][] = [
  // item 3: endpoints are http: or https: URLs only
  ["endpoints.vision", { endpoints: { vision: "file:///tmp/vision" } }, "TypeError"],
  ["endpoints.listing", { endpoints: { listing: "javascript:alert(1)" } }, "TypeError"],
  ["endpoints.rest", { endpoints: { rest: "ftp://127.0.0.1/" } }, "TypeError"],
  ["endpoints.vision", { endpoints: { vision: 8080 } }, "TypeError"],
  ["endpoints.vision", { endpoints: { vision: ["http://127.0.0.1:1"] } }, "TypeError"],
  ["endpoints.rest", { endpoints: { rest: [] } }, "TypeError"],
  ["endpoints.rest[1]", { endpoints: { rest: ["http://127.0.0.1:1", "file:///x"] } }, "TypeError"],
  [
    "endpoints.restMarketData",
    { endpoints: { restMarketData: "http://127.0.0.1:1" } },
    "TypeError",
  ],
  ["endpoints.vision", { endpoints: { vision: "not a url" } }, "TypeError"],
  ["endpoints.visoin", { endpoints: { visoin: "http://127.0.0.1:1" } }, "TypeError"],
  ["endpoints", { endpoints: "http://127.0.0.1:1" }, "TypeError"],
  // item 11: the other options
  ["cache", { cache: "/tmp/cache" }, "TypeError"],
  ["cache", { cache: true }, "TypeError"],
  ["cache", { cache: null }, "TypeError"],
  ["cache.dir", { cache: { dir: "" } }, "TypeError"],
  ["cache.dir", { cache: { dir: 42 } }, "TypeError"],
  ["timeoutMs", { timeoutMs: 0 }, "RangeError"],
  ["timeoutMs", { timeoutMs: -5 }, "RangeError"],
  ["timeoutMs", { timeoutMs: NaN }, "RangeError"],
  ["timeoutMs", { timeoutMs: 2 ** 31 }, "RangeError"],
  ["timeoutMs", { timeoutMs: "30000" }, "TypeError"],
  ["retry.attempts", { retry: { attempts: Infinity } }, "RangeError"],
  ["retry.attempts", { retry: { attempts: 0 } }, "RangeError"],
  ["retry.attempts", { retry: { attempts: 2.5 } }, "RangeError"],
  ["retry.baseDelayMs", { retry: { baseDelayMs: -1 } }, "RangeError"],
  ["retry.maxDelayMs", { retry: { maxDelayMs: -100 } }, "RangeError"],
  ["retry", { retry: 5 }, "TypeError"],
  ["fetch", { fetch: "fetch" }, "TypeError"],
  ["now", { now: 1_700_000_000_000 }, "TypeError"],
  ["onProgress", { onProgress: true }, "TypeError"],
  ["logger", { logger: console }, "TypeError"],
  ["signal", { signal: {} }, "TypeError"],
  ["sorce", { sorce: "rest" }, "TypeError"],
  ["concurrency", { concurrency: NaN }, "RangeError"],
];

Deno.test("Bad input through the API: every bad option is refused, naming it, before any I/O", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using sandbox = await tempDir();
  const base = {
    cache: { dir: join(sandbox.path, "cache") },
    now: () => NOW,
    retry: RETRY,
    endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
  };
  const check = (option: string, type: string, label: string) => (e: unknown) => {
    assert.ok(
      type === "TypeError" ? e instanceof TypeError : e instanceof RangeError,
      `${label}: ${e}`,
    );
    const error = e as Error & { code?: string };
    assert.match(error.code ?? "", /^INVALID_(OPTION|RANGE)$/, label);
    assert.ok(
      error.message.includes(`"${option}"`) || error.message.includes(` ${option} `),
      `${label}: ${error.message}`,
    );
    return true;
  };
  for (const [option, fields, type] of OPTION_CASES) {
    const label = `${option} ${JSON.stringify(fields)}`;
    // A bad endpoint replaces all three: nothing may be requested before the check anyway.
    const options = { ...base, ...fields };
    assert.throws(() => new DataSourceManager(options as never), check(option, type, label));
    await assert.rejects(
      fetchMarketData({ ...OK, ...options } as never),
      check(option, type, label),
    );
  }
  // A clock that returns NaN is refused when read, before the first request.
  await using dsm = new DataSourceManager({ ...base, now: () => NaN });
  await assert.rejects(dsm.getData(OK as KlineRequest), check("now()", "RangeError", "now() NaN"));
  await using plain = new DataSourceManager(base);
  // A typo in a request field is refused too, by getData as by fetchMarketData.
  await assert.rejects(
    plain.getData({ ...OK, sorce: "rest" } as KlineRequest),
    check("sorce", "TypeError", "request sorce"),
  );
  assert.deepEqual(emu.stats.requests, { vision: 0, checksum: 0, listing: 0, rest: 0, other: 0 });
  await assertNothingWritten(sandbox.path);
});

/** The four required flags of `dsm fetch` with their values. */
const REQUIRED = "--symbol BTCUSDT --interval 1h --start 2024-01-01 --end 2024-01-02".split(" ");
/** {@linkcode REQUIRED} without one flag and its value. */
function without(flag: string): string[] {
  const at = REQUIRED.indexOf(flag);
  return [...REQUIRED.slice(0, at), ...REQUIRED.slice(at + 2)];
}

/** The case of a run without one required flag. */
function missing(flag: string): [string, string[], 2, RegExp] {
  return [`missing ${flag}`, without(flag), 2, new RegExp(`${flag} is required`)];
}

/** [description, arguments after `fetch` (over the endpoint and cache flags), exit code, stderr pattern]. */
const CLI_CASES: [string, string[], 2, RegExp][] = [
  ["no flags at all", [], 2, /--symbol is required/],
  missing("--symbol"),
  missing("--interval"),
  missing("--start"),
  missing("--end"),
  ["flag without its value", [...without("--start"), "--start"], 2, /start/],
  ["unknown flag", ["--symbol", "BTCUSDT", "--bogus"], 2, /bogus/],
  ["positional argument", ["BTCUSDT"], 2, /BTCUSDT/],
  ["unknown market", ["--market", "futures"], 2, /market "futures".*INVALID_MARKET/],
  ["unknown format", ["--format", "xlsx"], 2, /--format "xlsx"/],
  ["unknown source", ["--source", "s3"], 2, /--source "s3"/],
  ["parquet to stdout", ["--format", "parquet", "--out", "-"], 2, /parquet/],
  ["--no-cache with --source cache", ["--no-cache", "--source", "cache"], 2, /--no-cache/],
  ["file URL as REST base", ["--rest-url", "file:///etc/passwd"], 2, /--rest-url/],
  ["javascript URL as Vision base", ["--vision-url", "javascript:alert(1)"], 2, /--vision-url/],
  ["path traversal in the symbol", ["--symbol", "../../../tmp/evil"], 2, /INVALID_SYMBOL/],
  ["slash in the symbol", ["--symbol", "BTC/USDT"], 2, /INVALID_SYMBOL/],
  ["shell syntax in the symbol", ["--symbol", "$(touch pwned)"], 2, /INVALID_SYMBOL/],
  ["NUL byte in the symbol", ["--symbol", "BTC\u0000USDT"], 2, /INVALID_SYMBOL/],
  ["long s in the symbol", ["--symbol", "btcu\u017fdt"], 2, /upper-cases to "S".*INVALID_SYMBOL/],
  ["non-ASCII traversal in the symbol", ["--symbol", "币安/../../x"], 2, /INVALID_SYMBOL/],
  ["USDT symbol on cm", ["--market", "cm"], 2, /BTCUSD_PERP.*INVALID_SYMBOL/],
  [
    "1s on um",
    ["--market", "um", "--interval", "1s"],
    2,
    /only available on spot.*INVALID_INTERVAL/,
  ],
  [
    "1s on cm",
    ["--market", "cm", "--symbol", "BTCUSD_PERP", "--interval", "1s"],
    2,
    /INVALID_INTERVAL/,
  ],
  ["unknown interval", ["--interval", "7m"], 2, /INVALID_INTERVAL/],
  [
    "start after end",
    ["--start", "2024-01-02", "--end", "2024-01-01"],
    2,
    /not before end.*INVALID_RANGE/,
  ],
  [
    "start equal to end",
    ["--start", "1704067200000", "--end", "1704067200000"],
    2,
    /INVALID_RANGE/,
  ],
  ["start before 2017", ["--start", "2016-06-01"], 2, /2017.*INVALID_TIME/],
  ["unparseable start", ["--start", "notadate"], 2, /INVALID_TIME/],
  ["start in seconds", ["--start", "1704067200"], 2, /seconds.*INVALID_TIME/],
  ["huge end", ["--end", "99999999999999999"], 2, /INVALID_TIME/],
  ["February 30", ["--end", "2024-02-30"], 2, /INVALID_TIME/],
  // an empty --cache-dir is an unset variable in a script, never the home cache
  ["empty --cache-dir", ["--cache-dir", ""], 2, /--cache-dir "": expected a folder/],
  ["--symbol - (not stdin)", ["--symbol", "-"], 2, /symbol "-".*letter or digit.*INVALID_SYMBOL/],
  ["symbol beginning with a dash", ["--symbol=-BTCUSDT"], 2, /"-BTCUSDT".*INVALID_SYMBOL/],
  [
    "--report into a missing folder",
    ["--report", "no-such-folder/deeper/report.json"],
    2,
    /--report "no-such-folder\/deeper\/report.json": folder ".*deeper" does not exist/,
  ],
  [
    "--out into a missing folder",
    ["--out", "no-such-folder/out.csv"],
    2,
    /--out .* does not exist/,
  ],
  [
    "file URL as REST market-data base",
    ["--rest-market-data-url", "file:///etc/passwd"],
    2,
    /--rest-market-data-url/,
  ],
];

Deno.test("Bad input through the CLI: every bad value is a usage error (exit 2) before any I/O", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using sandbox = await tempDir();
  const base = [
    "--cache-dir",
    join(sandbox.path, "cache"),
    "--vision-url",
    emu.url,
    "--listing-url",
    emu.url,
    "--rest-url",
    emu.url,
    "--out",
    join(sandbox.path, "out.csv"),
    "--report",
    join(sandbox.path, "report.json"),
    "--quiet",
  ];
  const defaults: Record<string, string> = {
    "--symbol": "BTCUSDT",
    "--interval": "1h",
    "--start": "2024-01-01",
    "--end": "2024-01-02",
  };
  for (const [label, args, code, pattern] of CLI_CASES) {
    // the well-formed flags fill in what a case does not set, except for the "missing" cases
    const fill = label.startsWith("missing") || label === "no flags at all" ||
        label === "flag without its value"
      ? []
      : Object.entries(defaults).filter(([flag]) => !args.includes(flag)).flat();
    let stderr = "";
    const chunks: Uint8Array[] = [];
    const exit = await main(["fetch", ...base, ...fill, ...args], {
      stdout: new WritableStream({ write: (c) => void chunks.push(c) }),
      stderr: (text) => stderr += text,
      stderrIsTerminal: false,
      env: () => undefined,
      signal: new AbortController().signal,
      now: () => NOW,
    });
    assert.equal(exit, code, `${label}: ${stderr}`);
    assert.match(stderr.replaceAll("\n", " "), pattern, label);
    if (code === 2) assert.match(stderr, /Usage: dsm/, label);
    assert.equal(chunks.length, 0, `${label}: wrote to stdout`);
  }
  for (
    const args of [
      [],
      ["fecth"],
      ["cache"],
      ["cache", "rm"],
      ["cache", "ls", "extra"],
      ["cache", "ls", "--cache-dir", ""],
      ["cache", "clear", "--all", "--cache-dir", ""],
      ["cache", "ls", "--symbol", "-"],
    ]
  ) {
    let stderr = "";
    assert.equal(
      await main(args, { stderr: (t) => stderr += t, env: () => undefined }),
      2,
      args.join(" "),
    );
  }
  assert.deepEqual(emu.stats.requests, { vision: 0, checksum: 0, listing: 0, rest: 0, other: 0 });
  await assertNothingWritten(sandbox.path);
});

Deno.test("Bad input through the dsm subprocess: refused with the right exit code and no network permission needed", async () => {
  await using sandbox = await tempDir();
  const cache = join(sandbox.path, "cache");
  const cli = new URL("../../src/cli/main.ts", import.meta.url).pathname;
  for (
    const [args, code, pattern] of [
      [["--symbol", "../../../../tmp/evil", "--interval", "1h"], 2, /INVALID_SYMBOL/],
      [["--symbol", "BTCUSDT", "--market", "um", "--interval", "1s"], 2, /INVALID_INTERVAL/],
      [["--symbol", "BTCUSDT", "--interval", "1h", "--format", "xlsx"], 2, /Usage: dsm/],
      [["--symbol", "-", "--interval", "1h"], 2, /INVALID_SYMBOL/],
      [
        ["--symbol", "BTCUSDT", "--interval", "1h", "--report", "missing/report.json"],
        2,
        /--report "missing\/report.json": folder .* does not exist/,
      ],
    ] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        // read access to the sandbox: enough to see that the --report folder is missing
        `--allow-read=${sandbox.path}`,
        `--allow-write=${cache}`,
        cli,
        "fetch",
        ...args,
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
        "--cache-dir",
        cache,
        "--vision-url",
        "http://127.0.0.1:9",
        "--listing-url",
        "http://127.0.0.1:9",
        "--rest-url",
        "http://127.0.0.1:9",
        "--quiet",
      ],
      cwd: sandbox.path,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, code, stderr);
    assert.match(stderr, pattern);
    assert.doesNotMatch(stderr, /NotCapable|Requires .* access/);
    assert.equal(output.stdout.length, 0);
  }
  await assertNothingWritten(sandbox.path);
});

Deno.test("dsm fetch --rest-url: a spot 451 falls back to --rest-market-data-url, and only to it", async () => {
  await using emu = await startEmulator({ now: NOW, restrict451: true });
  await using sandbox = await tempDir();
  const run = (extra: string[]) =>
    dsm(["fetch", ...REQUIRED, "--source", "rest", "--no-cache", "--rest-url", emu.url, ...extra]);
  // --rest-url replaces Binance's hosts, their market-data host too: no fallback
  const blocked = await run(["--quiet"]);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, /451/);
  const fallback = await run(["--rest-market-data-url", `${emu.url}/market-data/`]);
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.equal(fallback.stdout.trim().split("\n").length, 1 + 24);
  assert.match(fallback.stderr, /24 rows/);
  await assertNothingWritten(sandbox.path);
});
