/**
 * Least privilege: the documented permission flags of each use, exercised
 * in subprocesses with exactly those flags (and `--no-prompt`), against the
 * emulator running in this process:
 * - the CLI with the cache: `--allow-net=<hosts> --allow-read=<cache dir>
 *   --allow-write=<cache dir> --allow-env=DSM_CACHE_DIR,HOME,XDG_CACHE_HOME`;
 * - the library without cache and the edge (Deno Deploy): `--allow-net` only,
 *   which works and writes nothing;
 * - fewer permissions fail fast with a message naming the missing one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { assertCacheValid, filesUnder, NOW, tempDir } from "./_harness.ts";
import { FETCH_CHILD, type FetchJob } from "./_child.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const NET = "--allow-net=127.0.0.1";
const ENV = "--allow-env=DSM_CACHE_DIR,HOME,XDG_CACHE_HOME";
const RANGE = [
  "--symbol",
  "BTCUSDT",
  "--interval",
  "1h",
  "--start",
  "2024-01-01",
  "--end",
  "2024-01-03",
];
const TIMEOUT_MS = 60_000; // a hang fails the test instead of blocking the suite

/** The library job for the child, as JSON: the same spot range as {@linkcode RANGE}, from `url`. */
function jobArg(url: string, cache: FetchJob["cache"]): string {
  const job: FetchJob = {
    url,
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1h",
    start: "2024-01-01",
    end: "2024-01-03",
    cache,
    now: NOW,
  };
  return JSON.stringify(job);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...args],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

function endpoints(url: string): string[] {
  return ["--vision-url", url, "--listing-url", url, "--rest-url", url];
}

function csvRows(stdout: string): string[][] {
  const lines = stdout.trim().split("\n");
  assert.match(lines[0], /^open_time,open,high,low,close,volume,close_time,/);
  return lines.slice(1).map((l) => l.split(","));
}

/** Deno's own cache folder, which would otherwise follow the children's HOME. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" }).output())
      .stdout,
  ),
).denoDir;

/** Environment of a child whose home and cache folders are `home`. */
function homeEnv(home: string): Record<string, string> {
  return { HOME: home, XDG_CACHE_HOME: join(home, ".cache"), DENO_DIR };
}

Deno.test("Permissions: the CLI with the cache runs with exactly the documented flags", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using cache = await tempDir();
  await using home = await tempDir();
  const flags = [NET, `--allow-read=${cache.path}`, `--allow-write=${cache.path}`, ENV];
  // --cache-dir, then DSM_CACHE_DIR; only --vision-url and --rest-url (the
  // listing defaults to the Vision URL, DSM_LISTING_URL is not readable)
  const first = await run(
    [...flags, CLI, "fetch", ...RANGE, "--cache-dir", cache.path, ...endpoints(emu.url), "--quiet"],
    { cwd: home.path, env: homeEnv(home.path) },
  );
  assert.equal(first.code, 0, first.stderr);
  const rows = csvRows(first.stdout);
  assert.equal(rows.length, 48);
  assert.ok(rows.every((r) => r.at(-1) === "VISION"));
  const check = await assertCacheValid(cache.path);
  assert.deepEqual(check.entries.map((e) => e.key.partition), ["2024-01-01", "2024-01-02"]);
  const second = await run(
    [...flags, CLI, "fetch", ...RANGE, "--vision-url", emu.url, "--rest-url", emu.url],
    { cwd: home.path, env: { ...homeEnv(home.path), DSM_CACHE_DIR: cache.path } },
  );
  assert.equal(second.code, 0, second.stderr);
  const again = csvRows(second.stdout);
  assert.deepEqual(again.map((r) => r.slice(0, -1)), rows.map((r) => r.slice(0, -1)));
  assert.ok(again.every((r) => r.at(-1) === "CACHE"));
  assert.deepEqual(await filesUnder(home.path), [], "nothing is written outside the cache root");
  // and the cache commands with the same flags
  const verify = await run([...flags, CLI, "cache", "verify", "--cache-dir", cache.path], {
    cwd: home.path,
    env: homeEnv(home.path),
  });
  assert.equal(verify.code, 0, verify.stderr);
});

Deno.test("Permissions: the library without cache and the edge run with --allow-net only and write nothing", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using home = await tempDir();
  const cacheDir = join(home.path, "cache");
  for (const cache of ["default", false, cacheDir] as const) {
    const out = await run([NET, FETCH_CHILD, jobArg(emu.url, cache)], {
      cwd: home.path,
      env: { ...homeEnv(home.path), DSM_CACHE_DIR: cacheDir },
    });
    assert.equal(out.code, 0, `${cache}: ${out.stderr}`);
    const done = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual([done.event, done.rows, done.partial, done.cached], ["done", 48, false, 0]);
    assert.deepEqual(done.sources, { VISION: 48 });
    assert.doesNotMatch(out.stderr, /Requires|NotCapable|Warning/);
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(home.path)), []);
});

Deno.test("Permissions: fewer permissions fail clearly instead of hanging or prompting", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using cache = await tempDir();
  await using home = await tempDir();
  const env = homeEnv(home.path);
  // the CLI without network: a partial result naming the missing permission, exit 1
  const noNet = await run(
    [
      `--allow-read=${cache.path}`,
      `--allow-write=${cache.path}`,
      ENV,
      CLI,
      "fetch",
      ...RANGE,
      "--cache-dir",
      cache.path,
      ...endpoints(emu.url),
      "--quiet",
    ],
    { cwd: home.path, env },
  );
  assert.equal(noNet.code, 1, noNet.stderr);
  // The refusal is raised at once, not retried nor absorbed into a partial result.
  assert.match(noNet.stderr, /^dsm: Requires net access to "127\.0\.0\.1[^\n]*--allow-net/);
  assert.equal(csvRows(noNet.stdout).length, 0);
  // the CLI with the network but no file system: the cache is off, the fetch works
  const noFs = await run(
    [NET, CLI, "fetch", ...RANGE, "--cache-dir", cache.path, ...endpoints(emu.url), "--quiet"],
    { cwd: home.path, env },
  );
  assert.equal(noFs.code, 0, noFs.stderr);
  assert.equal(csvRows(noFs.stdout).length, 48);
  assert.deepEqual(await filesUnder(cache.path), []);
  // the library with no permission at all: a typed failure naming the permission
  const none = await run([FETCH_CHILD, jobArg(emu.url, false)], { cwd: home.path, env });
  const last = none.stdout.trim().split("\n").at(-1)!;
  if (none.code === 0) {
    const done = JSON.parse(last);
    assert.deepEqual([done.rows, done.partial], [0, true]);
  } else assert.match(none.stderr, /Requires net access|DataNotAvailableError|NETWORK/);
  // cache verify without read permission on the folder fails with a message, exit 1
  const verify = await run([ENV, CLI, "cache", "verify", "--cache-dir", cache.path], {
    cwd: home.path,
    env,
  });
  assert.equal(verify.code, 1, verify.stderr);
  assert.match(verify.stderr, /^dsm: .*\S/);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(home.path)), []);
});
