import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { parseCacheArgs } from "../../src/cli/_cache_command.ts";
import { parseFetchArgs } from "../../src/cli/_fetch_args.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";

const NOW = Date.UTC(2024, 5, 1);
const RANGE = [
  "--symbol",
  "BTCUSDT",
  "--interval",
  "1d",
  "--start",
  "2024-01-01",
  "--end",
  "2024-01-05",
];
const none = () => undefined;

async function run(args: string[]) {
  const chunks: string[] = [];
  const stdout = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(new TextDecoder().decode(chunk)),
  });
  let stderr = "";
  const code = await main(args, {
    stdout,
    stderr: (t) => stderr += t,
    stderrIsTerminal: false,
    env: none,
    now: () => NOW,
  });
  return { code, stdout: chunks.join(""), stderr };
}

Deno.test("dsm fetch and dsm cache take --cache-url, --cache-endpoint, --cache-region and --cache-read-only", () => {
  const fetch = parseFetchArgs([
    ...RANGE,
    "--cache-url",
    "s3://bucket/dsm",
    "--cache-endpoint",
    "http://127.0.0.1:7480",
    "--cache-region",
    "eu-west-1",
    "--cache-read-only",
  ], (name) => name === "DSM_CACHE_DIR" ? "/ignored" : undefined);
  assert.notEqual(fetch, "help");
  if (fetch === "help") return;
  assert.deepEqual(fetch.cache, {
    url: "s3://bucket/dsm",
    endpoint: "http://127.0.0.1:7480",
    region: "eu-west-1",
    readOnly: true,
  });
  const local = parseFetchArgs(
    [...RANGE, "--cache-read-only"],
    (n) => n === "DSM_CACHE_DIR" ? "/c" : undefined,
  );
  assert.deepEqual(local !== "help" && local.cache, { dir: "/c", readOnly: true });
  const ls = parseCacheArgs(["ls", "--cache-url", "s3://bucket", "--market", "um"], none);
  assert.deepEqual(ls !== "help" && [ls.url, ls.dir, ls.filter], ["s3://bucket", undefined, {
    market: "um",
  }]);
});

Deno.test("dsm cache flags: usage errors exit 2 before any I/O", async () => {
  const cases: [string[], RegExp][] = [
    [["fetch", ...RANGE, "--cache-url", "https://bucket/x"], /expected s3:\/\/bucket/],
    [
      ["fetch", ...RANGE, "--cache-url", "s3://b", "--cache-dir", "/tmp"],
      /--cache-dir with --cache-url/,
    ],
    [["fetch", ...RANGE, "--cache-endpoint", "http://x"], /--cache-endpoint without --cache-url/],
    [["fetch", ...RANGE, "--cache-url", "s3://b", "--no-cache"], /--cache-url with --no-cache/],
    [["fetch", ...RANGE, "--cache-read-only", "--no-cache"], /--cache-read-only with --no-cache/],
    [
      ["fetch", ...RANGE, "--cache-url", "s3://b", "--cache-endpoint", "ftp://x"],
      /--cache-endpoint "ftp:\/\/x"/,
    ],
    [["cache", "ls", "--cache-region", "x"], /--cache-region without --cache-url/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await run(args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, message, args.join(" "));
  }
});

Deno.test("dsm cache clear and verify --quarantine refuse a --cache-read-only cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsm-cli-ro-" });
  try {
    const clear = await run(["cache", "clear", "--all", "--cache-dir", dir, "--cache-read-only"]);
    assert.equal(clear.code, 1);
    assert.match(clear.stderr, /Cannot clear the cache: it is read-only/);
    const verify = await run([
      "cache",
      "verify",
      "--quarantine",
      "--cache-dir",
      dir,
      "--cache-read-only",
    ]);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /Cannot set corrupt files aside: it is read-only/);
    assert.equal((await run(["cache", "ls", "--cache-dir", dir, "--cache-read-only"])).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm fetch with an unreachable --cache-url returns the rows from the sources and says so", async () => {
  await using emulator = await startEmulator({ now: NOW, latencyMs: 0 });
  // A port with nothing listening: connections are refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const { code, stdout, stderr } = await run([
    "fetch",
    ...RANGE,
    "--vision-url",
    emulator.url,
    "--rest-url",
    emulator.url,
    "--cache-url",
    "s3://bucket/dsm",
    "--cache-endpoint",
    `http://127.0.0.1:${port}`,
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trimEnd().split("\n").length, 1 + 4);
  assert.match(stderr, /Cache at "s3:\/\/bucket\/dsm" failed 3 times in a row/);
});
