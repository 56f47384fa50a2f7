import assert from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import pl from "nodejs-polars";
import { main } from "../../src/cli/main.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { ORACLE_RANGE, oracleTable, plainRows } from "../_spot_oracle.ts";
import { formatProgress, formatSummary } from "../../src/cli/_progress.ts";
import type { FetchReport } from "../../src/fcp/fetch_report.ts";

const NOW = Date.UTC(2024, 5, 1);
const RANGE = ["--symbol", "BTCUSDT", "--interval", "1h", "--start", "2024-01-01", "--end"];
const END = ORACLE_RANGE.end;

function capture(onWrite?: () => void) {
  const chunks: Uint8Array[] = [];
  const stdout = new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(chunk.slice());
      onWrite?.();
    },
  });
  const bytes = () => {
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) all.set(c, at), at += c.length;
    return all;
  };
  return { stdout, bytes, text: () => new TextDecoder().decode(bytes()) };
}

async function run(args: string[], io: Parameters<typeof main>[1] = {}) {
  const out = capture();
  let stderr = "";
  const code = await main(args, {
    stdout: out.stdout,
    stderr: (t) => stderr += t,
    stderrIsTerminal: false,
    env: () => undefined,
    now: () => NOW,
    ...io,
  });
  return { code, stdout: out.text(), bytes: out.bytes(), stderr };
}

function urls(url: string) {
  return ["--vision-url", url, "--rest-url", url, "--no-cache"];
}

/** `dsm fetch` of the oracle's range from the emulator at `url`, then `flags`. */
function fetchArgs(url: string, ...flags: string[]) {
  return ["fetch", ...RANGE, END, ...urls(url), ...flags];
}

Deno.test("dsm fetch writes CSV that parses back to the API's exact values", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const expected = await oracleTable(emulator.url, NOW);
  const { code, stdout, stderr } = await run(fetchArgs(emulator.url));
  assert.equal(code, 0, stderr);
  const [header, ...lines] = stdout.trimEnd().split("\n");
  assert.deepEqual(header.split(","), expected.schema.fields.map((f) => f.name));
  const rows = lines.map((l) => l.split(",").map((x, i) => (i === 11 ? x : Number(x))));
  assert.equal(rows.length, 72);
  assert.deepEqual(rows, plainRows(expected));
  assert.match(stderr, /^72 rows BTCUSDT 1h spot; partitions: vision-daily 3; 0 gaps/);
});

Deno.test("dsm fetch writes NDJSON with the same values, and the JSON report", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const expected = await oracleTable(emulator.url, NOW);
  const dir = await Deno.makeTempDir();
  try {
    const report = `${dir}/report.json`;
    const { code, stdout } = await run(
      fetchArgs(emulator.url, "--format", "ndjson", "--report", report, "--quiet"),
    );
    assert.equal(code, 0);
    const objects = stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    const names = expected.schema.fields.map((f) => f.name);
    assert.deepEqual(objects.map((o) => names.map((n) => o[n])), plainRows(expected));
    assert.deepEqual(Object.keys(objects[0]), names);
    const parsed = JSON.parse(await Deno.readTextFile(report)) as FetchReport;
    assert.equal(parsed.rows, 72);
    assert.equal(parsed.symbol, "BTCUSDT");
    assert.equal(parsed.partitions.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm fetch streams Arrow IPC that tableFromIPC reads back exactly", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const expected = await oracleTable(emulator.url, NOW);
  const { code, bytes, stderr } = await run(
    fetchArgs(emulator.url, "--format", "arrow", "--out", "-", "--quiet"),
  );
  assert.equal(code, 0);
  assert.equal(stderr, "");
  const table = tableFromIPC(bytes);
  assert.equal(
    String(table.schema.fields.map((f) => f.type)),
    String(expected.schema.fields.map((f) => f.type)),
  );
  assert.deepEqual(plainRows(table), plainRows(expected));
});

Deno.test("dsm fetch writes Parquet that nodejs-polars reads back exactly", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const expected = await oracleTable(emulator.url, NOW, false);
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/k.parquet`;
    const { code, stdout } = await run(
      fetchArgs(emulator.url, "--format", "parquet", "--out", out, "--no-source-info", "--quiet"),
    );
    assert.equal(code, 0);
    assert.equal(stdout, "");
    const df = pl.readParquet(out);
    assert.deepEqual(df.columns, expected.schema.fields.map((f) => f.name));
    for (const name of df.columns) {
      const got = df.getColumn(name).toArray().map((x: unknown) =>
        x instanceof Date ? x.getTime() : typeof x === "bigint" ? Number(x) : x
      );
      const want = [...expected.getChild(name)!].map((
        x,
      ) => (typeof x === "bigint" ? Number(x) : x));
      assert.deepEqual(got, want, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm fetch --no-source-info and environment endpoints", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const env: Record<string, string> = { DSM_VISION_URL: emulator.url, DSM_REST_URL: emulator.url };
  const { code, stdout } = await run(["fetch", ...RANGE, END, "--no-cache", "--no-source-info"], {
    env: (name) => env[name],
  });
  assert.equal(code, 0);
  const [header, first] = stdout.split("\n");
  assert.ok(!header.includes("_data_source"));
  assert.equal(first.split(",").length, 11);
});

Deno.test("dsm fetch draws progress on a terminal and stays quiet with --quiet", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const args = fetchArgs(emulator.url);
  const shown = await run(args, { stderrIsTerminal: true });
  assert.equal(shown.code, 0);
  // deno-lint-ignore no-control-regex
  assert.match(shown.stderr, /\r\x1b\[2K3\/3 partitions, 3 files, .* 72 rows, .*ETA/);
  const quiet = await run([...args, "--quiet"], { stderrIsTerminal: true });
  assert.equal(quiet.stderr, "");
});

Deno.test("dsm usage errors exit 2 with the usage text, --help exits 0", async () => {
  for (
    const args of [
      ["fetch", "--bogus"],
      ["fetch", ...RANGE, END, "--format", "xml"],
      ["fetch", ...RANGE, END, "--format", "parquet"],
      ["fetch", ...RANGE, END, "--source", "disk"],
      ["fetch", ...RANGE, END, "--market", "margin"],
      ["fetch", ...RANGE, END, "--vision-url", "ftp://x"],
      ["fetch", ...RANGE, END, "--no-cache", "--cache-dir", "/tmp"],
      ["fetch", "--interval", "1h", "--start", "2024-01-01", "--end", END],
      ["fetch", ...RANGE, END, "extra"],
      [],
      ["frobnicate"],
      ["cache", "shrink"],
      ["cache"],
    ]
  ) {
    const { code, stderr, stdout } = await run(args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, /^dsm: .*\nUsage: dsm/, args.join(" "));
    assert.equal(stdout, "");
  }
  for (const args of [["--help"], ["fetch", "--help"], ["cache", "-h"]]) {
    const { code, stdout } = await run(args);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: dsm/);
  }
});

Deno.test("dsm fetch usage errors exit 2 before any I/O: interval, symbol, time, range, market, flag", async () => {
  let requests = 0;
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response("", { status: 500 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/out.csv`;
    const cache = `${dir}/cache`;
    const base = { symbol: "BTCUSDT", interval: "1h", start: "2024-01-01", end: "2024-01-02" };
    const cases: [Partial<typeof base> & { more?: string[] }, RegExp][] = [
      [{ interval: "1H" }, /interval "1H".*\(INVALID_INTERVAL\)/],
      [{ interval: "7m" }, /\(INVALID_INTERVAL\)/],
      [{ symbol: "../etc" }, /\(INVALID_SYMBOL\)/],
      [{ symbol: "BTC/USDT" }, /"BTC\/USDT".*did you mean BTCUSDT\? \(INVALID_SYMBOL\)/],
      [{ symbol: "BTC-USDT" }, /"BTC-USDT".*no separator; did you mean BTCUSDT\?/],
      [{ symbol: "btc-usdt", more: ["--market", "cm"] }, /did you mean BTCUSD_PERP\?/],
      [{ start: "yesterday" }, /"yesterday".*\(INVALID_TIME\)/],
      [{ start: "2024-01-02", end: "2024-01-01" }, /not before end.*\(INVALID_RANGE\)/],
      [{ more: ["--market", "margin"] }, /"margin".*\(INVALID_MARKET\)/],
      [{ more: ["--fill", "zero"] }, /--fill "zero"/],
      [{ more: ["--dataset", "bookDepth"] }, /dataset "bookDepth".*\(INVALID_DATASET\)/],
      [{ more: ["--dataset", "markPriceKlines"] }, /not published for spot.*\(INVALID_DATASET\)/],
      [
        { symbol: "BTCUSD_PERP", more: ["--market", "cm", "--dataset", "indexPriceKlines"] },
        /named by pair, like BTCUSD; did you mean BTCUSD\?/,
      ],
      [{ more: ["--frobnicate"] }, /--frobnicate/],
    ];
    for (const [c, message] of cases) {
      const r = { ...base, ...c };
      const args = ["fetch", "--symbol", r.symbol, "--interval", r.interval, "--start", r.start]
        .concat(["--end", r.end, "--out", out, "--report", `${dir}/r.json`, "--cache-dir", cache])
        .concat(["--vision-url", url, "--rest-url", url, ...(c.more ?? [])]);
      const got = await run(args);
      assert.equal(got.code, 2, `${args.join(" ")}: ${got.stderr}`);
      assert.match(got.stderr, /^dsm: .*\nUsage: dsm/);
      assert.match(got.stderr.split("\n")[0], message);
    }
    assert.equal(requests, 0);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm fetch takes the library's market aliases in any case", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const range = ["--interval", "1d", "--start", "2024-01-01", "--end", "2024-01-03", "--quiet"];
  for (
    const [market, symbol] of [
      ["futures_usdt", "BTCUSDT"],
      ["FUTURES_COIN", "BTCUSD_PERP"],
      ["UM", "ETHUSDT"],
      ["Spot", "BTCUSDT"],
    ]
  ) {
    const got = await run(
      ["fetch", "--market", market, "--symbol", symbol, ...range, ...urls(emulator.url)],
    );
    assert.equal(got.code, 0, `${market}: ${got.stderr}`);
    assert.equal(got.stdout.trimEnd().split("\n").length, 3, market);
  }
});

Deno.test("dsm fetch exits 1 with the code when no source has the data", async () => {
  const { code, stderr } = await run([
    "fetch",
    ...RANGE,
    END,
    ...urls("http://127.0.0.1:9"),
    "--source",
    "vision",
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /^dsm: .*\([A-Z_]+\)$/m);
});

Deno.test("dsm fetch interrupted mid-stream exits 130", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const stop = new AbortController();
  const out = capture(() => stop.abort(new DOMException("Interrupted", "AbortError")));
  let stderr = "";
  const code = await main(
    [
      "fetch",
      "--symbol",
      "BTCUSDT",
      "--interval",
      "1m",
      "--start",
      "2024-01-01",
      "--end",
      "2024-01-10",
    ]
      .concat(urls(emulator.url)),
    {
      stdout: out.stdout,
      stderr: (t) => stderr += t,
      stderrIsTerminal: false,
      env: () => undefined,
      now: () => NOW,
      signal: stop.signal,
    },
  );
  assert.equal(code, 130);
  assert.match(stderr, /dsm: interrupted/);
  assert.ok(out.text().split("\n").length < 9 * 1440);
});

Deno.test("dsm cache dispatches to the cache command and refuses a bare clear", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsm-cli-cache-" });
  try {
    const ls = await run(["cache", "ls", "--cache-dir", dir]);
    assert.equal(ls.code, 0);
    const clear = await run(["cache", "clear", "--cache-dir", dir]);
    assert.equal(clear.code, 2);
    assert.match(clear.stderr, /--all/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm emulator prints its URL and stops on the signal", async () => {
  const stop = new AbortController();
  const out = capture(() => stop.abort());
  const code = await main(["emulator", "--port", "0"], {
    stdout: out.stdout,
    stderr: () => {},
    signal: stop.signal,
  });
  assert.equal(code, 0);
  assert.match(out.text(), /^http:\/\/127\.0\.0\.1:\d+\n$/);
  const bad = await run(["emulator", "--bogus"]);
  assert.equal(bad.code, 2);
});

Deno.test("formatProgress and formatSummary", () => {
  const line = formatProgress(
    { partitionsDone: 1, partitionsTotal: 4, files: 1, bytes: 2048, rows: 24 },
    1000,
  );
  assert.equal(line, "1/4 partitions, 1 files, 2.0 KiB, 24 rows, 2.0 KiB/s, ETA 3s");
  const report = {
    rows: 10,
    symbol: "BTCUSDT",
    interval: "1h",
    market: "spot",
    partitions: [{ sources: ["vision-daily", "rest"] }, { sources: ["rest"] }],
    gaps: [{ slots: 2 }],
    partial: true,
  } as unknown as FetchReport;
  assert.equal(
    formatSummary(report, 1500),
    "10 rows BTCUSDT 1h spot; partitions: vision-daily 1, rest 2; 1 gaps (2 slots); partial; 1.50 s",
  );
});

async function subprocess(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/main.ts", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { DSM_CACHE_DIR: "", DSM_VISION_URL: "", DSM_REST_URL: "", DSM_LISTING_URL: "" },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("dsm subprocess exit codes: 2 usage (a flag or a value), 1 failure, 0 fetch", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const usage = await subprocess(["fetch", "--bogus"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /Usage: dsm/);
  const typed = await subprocess([
    "fetch",
    "--symbol",
    "../etc",
    "--interval",
    "1h",
    "--start",
    "2024-01-01",
    "--end",
    END,
  ]);
  assert.equal(typed.code, 2);
  assert.match(typed.stderr, /^dsm: .*\(INVALID_SYMBOL\)$/m);
  const failed = await dsmTask(["fetch", ...RANGE, "2024-01-02", ...urls("http://127.0.0.1:9")]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^dsm: .*\([A-Z_]+\)$/m);
  const ok = await subprocess(["fetch", ...RANGE, "2024-01-02", ...urls(emulator.url), "--quiet"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trimEnd().split("\n").length, 25);
  assert.equal(ok.stderr, "");
});

Deno.test("dsm subprocess exits 130 on SIGINT during a fetch", async () => {
  await using emulator = await startEmulator({ now: NOW, latencyMs: 50 });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/main.ts", "fetch", "--symbol", "BTCUSDT", "--interval", "1m"]
      .concat(["--start", "2024-01-01", "--end", "2024-03-01", "--quiet"], urls(emulator.url)),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGINT");
  while (!(await reader.read()).done);
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  const { code } = await child.status;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /dsm: interrupted/);
});

Deno.test("dsm subprocess fetches a non-ASCII spot symbol into the cache; cache ls prints it decoded", async () => {
  await using emulator = await startEmulator({ now: Date.UTC(2026, 0, 10) });
  const dir = await Deno.makeTempDir({ prefix: "dsm-cli-non-ascii-" });
  try {
    const symbol = "币安人生USDT";
    const range = ["--interval", "1h", "--start", "2025-10-30", "--end", "2025-11-03"];
    const fetched = await subprocess([
      "fetch",
      "--symbol",
      symbol,
      ...range,
      "--vision-url",
      emulator.url,
      "--rest-url",
      emulator.url,
      "--cache-dir",
      dir,
    ]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(fetched.stdout.trimEnd().split("\n").length, 1 + 4 * 24);
    assert.match(fetched.stderr, /^96 rows 币安人生USDT 1h spot; /);
    const ls = await subprocess(["cache", "ls", "--cache-dir", dir]);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = ls.stdout.split("\n").filter((line) => line.startsWith("spot"));
    assert.ok(rows.length >= 3, ls.stdout);
    for (const row of rows) assert.match(row, /^spot +币安人生USDT +1h +2025-1[01]-/);
    const json = await subprocess([
      "cache",
      "ls",
      "--cache-dir",
      dir,
      "--json",
      "--symbol",
      "币安人生usdt",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const entries: { symbol: string; path: string; source: string }[] = JSON.parse(json.stdout);
    assert.equal(entries.length, rows.length);
    for (const e of entries) {
      assert.equal(e.symbol, symbol);
      assert.ok(e.path.includes("%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT"), e.path);
      assert.equal(e.source, "VISION");
    }
    // verify asks Vision for each archive's current CHECKSUM under the encoded URL
    const verify = await subprocess([
      "cache",
      "verify",
      "--cache-dir",
      dir,
      "--vision-url",
      emulator.url,
      "--json",
    ]);
    assert.equal(verify.code, 0, verify.stderr);
    const report = JSON.parse(verify.stdout);
    assert.equal(report.ok, entries.length);
    assert.ok(report.vision.fetched > 0);
    assert.equal(report.vision.missing, 0);
    assert.deepEqual(report.vision.failed, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The permission flags of `deno task dsm`, as deno.json documents them. */
async function dsmTaskFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const words = (config.tasks.dsm as string).split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.equal(words.at(-1), "src/cli/main.ts");
  return words.slice(2, -1);
}

Deno.test("dsm fetch, run as `deno task dsm`, exits 0 over years of irregular spot history, then from the cache", async () => {
  await using emulator = await startEmulator({ latencyMs: 0 });
  const flags = await dsmTaskFlags();
  const dir = await Deno.makeTempDir();
  try {
    const fetch = async (...more: string[]) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, "src/cli/main.ts", "fetch", "--symbol", "BTCUSDT"]
          .concat(["--interval", "1h", "--start", "2017-08-17", "--end", "2023-01-01"])
          .concat(["--vision-url", emulator.url, "--listing-url", emulator.url])
          .concat(["--rest-url", emulator.url, "--cache-dir", dir, "--report", `${dir}/r.json`])
          .concat(["--no-source-info"])
          .concat(more),
        stdout: "piped",
        stderr: "piped",
        env: { DSM_CACHE_DIR: "", DSM_VISION_URL: "", DSM_REST_URL: "", DSM_LISTING_URL: "" },
      }).output();
      const text = new TextDecoder();
      const report = JSON.parse(await Deno.readTextFile(`${dir}/r.json`)) as FetchReport;
      return {
        ...output,
        stdout: text.decode(output.stdout),
        stderr: text.decode(output.stderr),
        report,
      };
    };
    const cold = await fetch();
    assert.equal(cold.code, 0, cold.stderr);
    assert.equal(cold.report.partial, false);
    assert.ok(cold.report.anomalyCount > 0);
    assert.match(cold.stderr, new RegExp(`; ${cold.report.anomalyCount} anomalies; \\d`));
    const warm = await fetch("--source", "cache");
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(warm.stdout, cold.stdout);
    assert.equal(warm.report.anomalyCount, cold.report.anomalyCount);
    assert.deepEqual(warm.report.anomalies, cold.report.anomalies);
    assert.equal(cold.stdout.trimEnd().split("\n").length, cold.report.rows + 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm fetch --fill null, --strict and --include-open-candle reach the library", async () => {
  await using emulator = await startEmulator({ now: NOW });
  // 2023-03-24 12:30-14:30 is an exchange halt: the 13:00 and 14:00 candles never opened
  const halt = ["--interval", "1h", "--start", "2023-03-24", "--end", "2023-03-25"];
  const args = ["fetch", "--market", "um", "--symbol", "BTCUSDT", ...halt, ...urls(emulator.url)];
  const plain = await run([...args, "--quiet"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout.trimEnd().split("\n").length, 1 + 22);
  const filled = await run([...args, "--quiet", "--fill", "null", "--format", "ndjson"]);
  assert.equal(filled.code, 0, filled.stderr);
  const rows = filled.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(rows.length, 24);
  assert.deepEqual(
    rows.filter((r) => r.open === null).map((r) => new Date(r.open_time).toISOString()),
    ["2023-03-24T13:00:00.000Z", "2023-03-24T14:00:00.000Z"],
  );

  // the open candle: now is 2024-06-01 00:30
  const openNow = () => Date.UTC(2024, 5, 1, 0, 30);
  const open = ["fetch", "--symbol", "BTCUSDT", "--interval", "1h", "--start", "2024-05-31T22:00"]
    .concat(["--end", "2024-06-01T02:00", ...urls(emulator.url), "--quiet"]);
  const closed = await run(open, { now: openNow });
  assert.equal(closed.stdout.trimEnd().split("\n").length, 1 + 2);
  const withOpen = await run([...open, "--include-open-candle"], { now: openNow });
  assert.equal(withOpen.code, 0, withOpen.stderr);
  const last = withOpen.stdout.trimEnd().split("\n").at(-1)!.split(",");
  assert.equal(Number(last[0]), Date.UTC(2024, 5, 1));

  // --strict: a source failure fails the command with the typed error, not a partial result
  await using vision = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.includes("2024-01-02")) return new Response("denied", { status: 403 });
    return fetch(emulator.url + path + new URL(req.url).search);
  });
  const flaky = `http://127.0.0.1:${vision.addr.port}`;
  const down = ["fetch", ...RANGE, END, ...urls(flaky), "--source", "vision"];
  const partial = await run(down);
  assert.equal(partial.code, 1);
  assert.match(partial.stderr, /The result is partial/);
  const strict = await run([...down, "--strict"]);
  assert.equal(strict.code, 1);
  assert.doesNotMatch(strict.stderr, /The result is partial/);
  assert.match(strict.stderr, /^dsm: .*\([A-Z_]+\)\n$/);
});

Deno.test("dsm fetch says once, with the fix, that the cache is off when its folder is a file", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/not-a-folder`;
    await Deno.writeTextFile(file, "");
    const got = await run(["fetch", ...RANGE, END, "--vision-url", emulator.url, "--rest-url"]
      .concat([emulator.url, "--cache-dir", file, "--quiet"]));
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.trimEnd().split("\n").length, 1 + 72);
    assert.equal(
      got.stderr,
      `dsm: Cache is off: "${file}" is not a folder; remove it or pass another cache dir; ` +
        "or use --cache-dir DIR, or --no-cache\n",
    );
    assert.equal(await Deno.readTextFile(file), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `dsm` in a subprocess with `flags` (the `deno task dsm` flags by default), stdout piped. */
function spawnDsm(args: string[], flags?: string[]) {
  return (async () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...(flags ?? await dsmTaskFlags()), "src/cli/main.ts", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { DSM_CACHE_DIR: "", DSM_VISION_URL: "", DSM_REST_URL: "", DSM_LISTING_URL: "" },
    }).spawn())();
}

async function dsmTask(args: string[], flags?: string[]) {
  const { code, stdout, stderr } = await (await spawnDsm(args, flags)).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Every path under a folder with its size, sorted ([] when it does not exist). */
async function treeOf(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      out.push(`${path} ${e.isFile ? (await Deno.stat(path)).size : "dir"}`);
    }
  }
  await walk(root).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  return out.sort();
}

Deno.test("dsm fetch, run as `deno task dsm`, exits 0 in silence when stdout closes early (| head), in every format, and caches only complete partitions", async () => {
  await using emulator = await startEmulator({ now: NOW, latencyMs: 5 });
  const dir = await Deno.makeTempDir();
  try {
    for (const format of ["csv", "ndjson", "arrow"]) {
      const child = await spawnDsm([
        "fetch",
        ...["--symbol", "BTCUSDT", "--interval", "1m", "--start", "2024-01-01", "--end"],
        ...["2024-02-01", "--format", format, "--cache-dir", `${dir}/${format}`],
        ...["--vision-url", emulator.url, "--rest-url", emulator.url],
      ]);
      // like `| head -c 1`: read one chunk, then close the pipe
      const reader = child.stdout.getReader();
      const first = await reader.read();
      assert.ok(!first.done && first.value.length > 0);
      await reader.cancel();
      const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
      const { code } = await child.status;
      assert.equal(code, 0, `${format}: ${stderr}`);
      assert.doesNotMatch(stderr, /BrokenPipe|Broken pipe|error/i, format);
      const verify = await run(["cache", "verify", "--cache-dir", `${dir}/${format}`, "--json"]);
      assert.equal(verify.code, 0, verify.stdout);
      const report = JSON.parse(verify.stdout);
      // every cached partition is whole (verify checks each one's rows against its grid)
      assert.equal(report.corrupt.length, 0, format);
      assert.equal(report.ok, report.checked, format);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm with read permission only reads the cache, writes nothing, and says so once", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    const cache = `${dir}/cache`;
    const range = ["--symbol", "BTCUSDT", "--interval", "1h", "--start", "2024-01-01"];
    const endpoints = ["--vision-url", emulator.url, "--rest-url", emulator.url];
    const fill = await run(["fetch", ...range, "--end", "2024-01-03", ...endpoints, "--cache-dir"]
      .concat([cache]));
    assert.equal(fill.code, 0, fill.stderr);
    const before = await treeOf(dir);
    const flags = (await dsmTaskFlags())
      .filter((f) => !f.startsWith("--allow-read") && !f.startsWith("--allow-write"))
      .concat([`--allow-read=${cache}`]);
    // the cached days come from the cache; the third day from Vision, not cached
    const got = await dsmTask(
      ["fetch", ...range, "--end", "2024-01-04", ...endpoints, "--cache-dir", cache],
      flags,
    );
    assert.equal(got.code, 0, got.stderr);
    const sources = got.stdout.trimEnd().split("\n").slice(1).map((l) => l.split(",").at(-1));
    assert.deepEqual(
      sources,
      [...Array(48).fill("CACHE"), ...Array(24).fill("VISION")],
    );
    const notices = got.stderr.split("\n").filter((l) => l.startsWith("dsm: Cache is"));
    assert.deepEqual(notices, [
      `dsm: Cache is read-only: no write permission for "${cache}"; cached partitions are read, ` +
      `nothing is written; run with --allow-write="${cache}"; or use --cache-dir DIR, or --no-cache`,
    ]);
    // cache ls / stats / verify with read permission only
    for (const sub of ["ls", "stats", "verify"]) {
      const c = await dsmTask(["cache", sub, "--cache-dir", cache], flags);
      assert.equal(c.code, 0, `${sub}: ${c.stderr}`);
      assert.equal(c.stderr, "", sub);
    }
    const clear = await dsmTask(["cache", "clear", "--all", "--cache-dir", cache], flags);
    assert.equal(clear.code, 1);
    assert.match(
      clear.stderr,
      /^dsm: Cannot clear the cache: it is read-only: no write permission/,
    );
    assert.deepEqual(await treeOf(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm cache ls, stats and verify, run as `deno task dsm`, create no file or folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = `${dir}/absent/cache`;
    for (const sub of ["ls", "stats", "verify"]) {
      const c = await dsmTask(["cache", sub, "--cache-dir", cache]);
      assert.equal(c.code, 0, `${sub}: ${c.stderr}`);
      assert.equal(c.stderr, "");
    }
    assert.deepEqual(await treeOf(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "dsm fetch, run as `deno task dsm`, reads a cache folder where files cannot be created (chmod 555), and says so once",
  {
    // root writes through a read-only mode; as root, the cache tests cover a read-only mount
    ignore: Deno.build.os === "windows" || Deno.uid() === 0,
  },
  async () => {
    await using emulator = await startEmulator({ now: NOW });
    const dir = await Deno.makeTempDir();
    const range = ["--symbol", "BTCUSDT", "--interval", "1h", "--start", "2024-01-01"];
    const endpoints = ["--vision-url", emulator.url, "--rest-url", emulator.url];
    try {
      const fill = await run(["fetch", ...range, "--end", "2024-01-03", ...endpoints, "--cache-dir"]
        .concat([dir]));
      assert.equal(fill.code, 0, fill.stderr);
      const before = await treeOf(dir);
      for (const d of [dir, `${dir}/v1`]) await Deno.chmod(d, 0o555);
      const got = await dsmTask(
        ["fetch", ...range, "--end", "2024-01-04", ...endpoints, "--cache-dir"]
          .concat([dir]),
      );
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.split("\n").filter((l) => l.endsWith(",CACHE")).length, 48);
      const notices = got.stderr.split("\n").filter((l) => l.startsWith("dsm: Cache is"));
      assert.equal(notices.length, 1);
      assert.match(notices[0], /^dsm: Cache is read-only: cannot create files in /);
      assert.deepEqual(await treeOf(dir), before);
    } finally {
      for (const d of [`${dir}/v1`, dir]) await Deno.chmod(d, 0o755).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("dsm fetch, run as `deno task dsm`, says once on stderr that the cache is off when its root is a file", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/cache`;
    await Deno.writeTextFile(file, "x");
    const got = await dsmTask([
      "fetch",
      ...RANGE,
      END,
      ...["--vision-url", emulator.url, "--rest-url", emulator.url, "--cache-dir", file],
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.trimEnd().split("\n").length, 1 + 72);
    const lines = got.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, got.stderr); // the notice, then the summary
    assert.equal(
      lines[0],
      `dsm: Cache is off: "${file}" is not a folder; remove it or pass another cache dir; ` +
        "or use --cache-dir DIR, or --no-cache",
    );
    assert.match(lines[1], /^72 rows BTCUSDT 1h spot; /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm fetch --dataset fundingRate writes funding events; grid flags are usage errors", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const funding = (...flags: string[]) =>
    run([
      ...["fetch", "--dataset", "fundingRate", "--market", "um", "--symbol", "BTCUSDT"],
      ...["--start", "2024-05-01", "--end", "2024-05-03", "--quiet"],
      ...flags,
      ...urls(emulator.url),
    ]);
  const got = await funding();
  assert.equal(got.code, 0, got.stderr);
  const lines = got.stdout.trimEnd().split("\n");
  assert.equal(
    lines[0],
    "funding_time,funding_rate,funding_interval_hours,mark_price,_data_source",
  );
  assert.equal(lines.length, 1 + 6); // two days of 8-hour funding
  assert.match(lines[1], /^1714521600\d{3},[-0-9.e]+,8,,VISION$/);
  for (const flags of [["--interval", "8h"], ["--fill", "null"], ["--include-open-candle"]]) {
    const bad = await funding(...flags);
    assert.equal(bad.code, 2, flags.join(" "));
    assert.match(bad.stderr, /with --dataset fundingRate/);
  }
  const spot = await run(["fetch", "--dataset", "fundingRate", "--symbol", "BTCUSDT"].concat(
    ["--start", "2024-05-01", "--end", "2024-05-03"],
  ));
  assert.equal(spot.code, 2);
  assert.match(spot.stderr, /not published for spot/);
});

Deno.test("dsm fetch --dataset aggTrades writes trades with µs times and booleans; grid flags are usage errors", async () => {
  await using emulator = await startEmulator({ now: NOW, tradeScale: 0.001 });
  const trades = (...flags: string[]) =>
    run([
      ...["fetch", "--dataset", "aggTrades", "--market", "um", "--symbol", "BTCUSDT"],
      ...["--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T01:00:00Z", "--quiet"],
      ...flags,
      ...urls(emulator.url),
    ]);
  const got = await trades("--format", "ndjson");
  assert.equal(got.code, 0, got.stderr);
  const rows = got.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.ok(rows.length > 0);
  assert.deepEqual(Object.keys(rows[0]), [
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
    "_data_source",
  ]);
  assert.equal(typeof rows[0].is_buyer_maker, "boolean");
  assert.equal(rows[0].is_best_match, null);
  assert.ok(
    rows.every((r) => r.transact_time >= 1714521600000000 && r.transact_time < 1714525200000000),
  );
  assert.ok(rows.every((r, i) => i === 0 || r.agg_trade_id === rows[i - 1].agg_trade_id + 1));
  for (const flags of [["--interval", "1m"], ["--fill", "null"]]) {
    const bad = await trades(...flags);
    assert.equal(bad.code, 2, flags.join(" "));
    assert.match(bad.stderr, /with --dataset aggTrades/);
  }
  const rest = await run([
    ...["fetch", "--dataset", "trades", "--symbol", "BTCUSDT", "--source", "rest"],
    ...["--start", "2024-05-01", "--end", "2024-05-02"],
  ]);
  assert.equal(rest.code, 2);
  assert.match(rest.stderr, /cannot serve plain trades/);
});
