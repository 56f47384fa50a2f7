/**
 * A hostile cache: symbolic links out of the root, a FIFO, a folder or a
 * link in place of a partition, the temporary files of killed writers. The
 * fetch never reads or writes outside the root, never blocks on an open, sets
 * every non-file aside and caches the partition again; `dsm cache` sees what
 * the fetch sees.
 *
 * The FIFO cases run `dsm` in a subprocess killed after a generous bound: if
 * an open blocked again, the test fails instead of hanging the suite.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import type { FetchReport } from "../../src/fcp/fetch_report.ts";
import { dsm, filesUnder, NOW, RETRY, tempDir } from "./_harness.ts";

const unix = Deno.build.os !== "windows";
const RANGE = {
  symbol: "BTCUSDT",
  interval: "1h",
  start: "2024-01-01",
  end: "2024-01-03",
} as const;
const DAYS = ["2024-01-01", "2024-01-02"];
const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** The 1h folder of spot BTCUSDT under a root. */
function seriesOf(root: string): string {
  return join(root, "v1", "binance", "spot", "klines", "BTCUSDT", "1h");
}

/** One fetch of {@linkcode RANGE} through a manager on `cache`, with what the cache logged. */
async function fetchOnce(url: string, cache: string) {
  const logged: string[] = [];
  await using dsm = new DataSourceManager({
    cache: { dir: cache },
    now: () => NOW,
    retry: RETRY,
    endpoints: { vision: url, listing: url, rest: url },
    logger: (m) => logged.push(m),
  });
  const { table, report } = await dsm.getDataWithReport(RANGE);
  return { rows: table.numRows, report, logged };
}

/** The cache's failures of a report (the sources' own, if any, are another test's matter). */
function cacheFailures(report: FetchReport) {
  return report.failures.filter((f) => f.code === "CACHE_ERROR");
}

/** The sources of each partition of a report, by key. */
function sourcesOf(report: FetchReport): Record<string, string> {
  return Object.fromEntries(report.partitions.map((p) => [p.key, p.sources.join("+")]));
}

/** Each file under a folder with its bytes, to prove that nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of await filesUnder(dir)) {
    const bytes = await Deno.readFile(join(dir, file));
    out[file] = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}

Deno.test({
  name: "Hostile cache: a series folder linked out of the root is neither read nor written",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({ now: NOW });
    await using sandbox = await tempDir();
    const root = join(sandbox.path, "cache");
    // Outside the root: a valid cache of the same series (a decoy a fetch must not read).
    const other = join(sandbox.path, "other");
    const reference = await fetchOnce(emu.url, other);
    assert.equal(reference.report.partial, false);
    const before = await snapshot(other);
    assert.equal(Object.keys(before).length, 2);

    await Deno.mkdir(join(seriesOf(root), ".."), { recursive: true });
    await Deno.symlink(seriesOf(other), seriesOf(root));
    const linked = await fetchOnce(emu.url, root);
    assert.equal(linked.rows, reference.rows);
    for (const [key, sources] of Object.entries(sourcesOf(linked.report))) {
      assert.doesNotMatch(sources, /cache/, `${key} was read through the link`);
    }
    assert.ok(linked.logged.some((m) => /^Cannot use cache folder .* outside the/.test(m)));
    // every write refused, and said in the report
    assert.deepEqual(
      cacheFailures(linked.report).map((f) => [f.partition, f.code]).sort(),
      DAYS.map((d) => [d, "CACHE_ERROR"]),
    );
    assert.match(
      cacheFailures(linked.report)[0].message,
      /resolves to ".*other.*", outside the cache/,
    );
    assert.deepEqual(await snapshot(other), before, "the outside folder changed");

    // dsm cache sees what the fetch sees: nothing listed, verify fails, clear deletes nothing
    const ls = await dsm(["cache", "ls", "--cache-dir", root]);
    assert.equal(ls.code, 0);
    assert.match(ls.stdout, /^0 files/m);
    assert.match(ls.stderr, /Cannot use cache folder .* outside the cache root/);
    const stats = await dsm(["cache", "stats", "--cache-dir", root, "--json"]);
    assert.equal(JSON.parse(stats.stdout).partitions, 0);
    const verify = await dsm(["cache", "verify", "--cache-dir", root]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /^REFUSED {2}Cannot use cache folder/m);
    assert.match(verify.stderr, /1 folders refused/);
    const json = JSON.parse((await dsm(["cache", "verify", "--cache-dir", root, "--json"])).stdout);
    assert.deepEqual(json.refused.map((r: { path: string }) => r.path), [seriesOf(root)]);
    for (const args of [["--all"], ["--symbol", "BTCUSDT", "--interval", "1h"]]) {
      const clear = await dsm(["cache", "clear", "--cache-dir", root, ...args]);
      assert.equal(clear.code, 0, clear.stderr);
      assert.match(clear.stdout, /^Deleted 0 partition files/);
    }
    assert.deepEqual(await snapshot(other), before, "dsm cache changed the outside folder");
  },
});

Deno.test({
  name:
    "Hostile cache: an ancestor linked out of the root gets no folder or file created through it",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({ now: NOW });
    await using sandbox = await tempDir();
    const root = join(sandbox.path, "cache");
    const outside = join(sandbox.path, "outside");
    await Deno.mkdir(outside);
    await Deno.mkdir(join(root, "v1", "binance", "spot"), { recursive: true });
    await Deno.symlink(outside, join(root, "v1", "binance", "spot", "klines"));
    // and a dangling link in place of another market's folder
    await Deno.symlink(join(sandbox.path, "nowhere"), join(root, "v1", "binance", "um"));
    const { rows, report } = await fetchOnce(emu.url, root);
    assert.ok(rows > 0);
    assert.equal(report.partial, false);
    assert.equal(cacheFailures(report).length, 2);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(outside)), [], "written outside the root");

    await using dangling = new DataSourceManager({
      market: "um",
      cache: { dir: root },
      now: () => NOW,
      retry: RETRY,
      endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
    });
    const um = await dangling.getDataWithReport(RANGE);
    assert.ok(um.table.numRows > 0);
    assert.match(cacheFailures(um.report)[0]?.message ?? "", /dangling symbolic link/);
    await assert.rejects(Deno.lstat(join(sandbox.path, "nowhere")), Deno.errors.NotFound);
  },
});

Deno.test({
  name:
    "Hostile cache: a folder in place of a partition is set aside and the partition cached again",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({ now: NOW });
    await using sandbox = await tempDir();
    const root = join(sandbox.path, "cache");
    await Deno.mkdir(join(seriesOf(root), "2024-01-01.arrow", "inside"), { recursive: true });
    const first = await fetchOnce(emu.url, root);
    assert.equal(first.report.partial, false);
    assert.deepEqual(cacheFailures(first.report).map((f) => [f.partition, f.code]), [
      ["2024-01-01", "CACHE_ERROR"],
    ]);
    assert.match(cacheFailures(first.report)[0].message, /it is a folder, not a file.*set aside/);
    assert.ok((await Deno.lstat(join(seriesOf(root), "2024-01-01.arrow"))).isFile);
    const names = (await Array.fromAsync(Deno.readDir(seriesOf(root)), (e) => e.name)).sort();
    assert.equal(names.length, 3);
    assert.match(names[1], /^2024-01-01\.arrow\.corrupt-\d+$/);
    // repaired, not skipped forever: the next fetch reads both days from the cache
    const second = await fetchOnce(emu.url, root);
    assert.deepEqual(sourcesOf(second.report), { "2024-01-01": "cache", "2024-01-02": "cache" });
    assert.equal(second.rows, first.rows);
    assert.deepEqual(cacheFailures(second.report), []);
  },
});

Deno.test({
  name: "Hostile cache: a symbolic link in place of a partition is set aside, never followed",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({ now: NOW });
    await using sandbox = await tempDir();
    const root = join(sandbox.path, "cache");
    const other = join(sandbox.path, "other");
    await fetchOnce(emu.url, other);
    const before = await snapshot(other);
    await Deno.mkdir(seriesOf(root), { recursive: true });
    // a valid partition outside the root, and a dangling link
    await Deno.symlink(
      join(seriesOf(other), "2024-01-01.arrow"),
      join(seriesOf(root), "2024-01-01.arrow"),
    );
    await Deno.symlink(join(sandbox.path, "gone"), join(seriesOf(root), "2024-01-02.arrow"));
    const first = await fetchOnce(emu.url, root);
    assert.deepEqual(sourcesOf(first.report)["2024-01-01"].includes("cache"), false);
    assert.deepEqual(cacheFailures(first.report).map((f) => f.partition).sort(), DAYS);
    for (const f of cacheFailures(first.report)) {
      assert.match(f.message, /it is a symbolic link, not a file.*set aside and fetched again/);
    }
    for (const day of DAYS) {
      assert.ok((await Deno.lstat(join(seriesOf(root), `${day}.arrow`))).isFile, day);
    }
    assert.deepEqual(await snapshot(other), before, "the link's target changed");
    await assert.rejects(Deno.lstat(join(sandbox.path, "gone")), Deno.errors.NotFound);
    const second = await fetchOnce(emu.url, root);
    assert.deepEqual(sourcesOf(second.report), { "2024-01-01": "cache", "2024-01-02": "cache" });
  },
});

/** Runs `dsm` in a subprocess, killed after `limitMs` (a bound against a hang, not a timing). */
async function dsmProcess(args: string[], limitMs = 120_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, limitMs);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      killed,
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path], stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "Hostile cache: a FIFO in place of a partition never blocks dsm fetch, ls, stats or verify",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({ now: NOW });
    await using sandbox = await tempDir();
    const root = join(sandbox.path, "cache");
    const folder = seriesOf(root);
    await Deno.mkdir(folder, { recursive: true });
    await mkfifo(join(folder, "2024-01-01.arrow"));
    const report = join(sandbox.path, "report.json");
    const fetch = await dsmProcess([
      "fetch",
      ...[
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1h",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-03",
      ],
      ...["--cache-dir", root, "--vision-url", emu.url, "--listing-url", emu.url],
      ...["--rest-url", emu.url, "--out", join(sandbox.path, "out.csv"), "--report", report],
      "--quiet",
    ]);
    assert.equal(fetch.killed, false, "dsm fetch blocked on the FIFO");
    assert.equal(fetch.code, 0, fetch.stderr);
    const failures = cacheFailures(JSON.parse(await Deno.readTextFile(report)));
    assert.equal(failures.length, 1);
    assert.match(failures[0].message, /it is a FIFO, not a file.*set aside and fetched again/);
    assert.ok((await Deno.lstat(join(folder, "2024-01-01.arrow"))).isFile);
    const aside = (await Array.fromAsync(Deno.readDir(folder), (e) => e.name))
      .filter((n) => n.includes(".corrupt-"));
    assert.equal(aside.length, 1);
    assert.ok((await Deno.lstat(join(folder, aside[0]))).isFifo);

    // a FIFO again, for the maintenance commands
    await Deno.remove(join(folder, "2024-01-02.arrow"));
    await mkfifo(join(folder, "2024-01-02.arrow"));
    const ls = await dsmProcess(["cache", "ls", "--cache-dir", root]);
    assert.equal(ls.killed, false, "dsm cache ls blocked on the FIFO");
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /2024-01-02 +unreadable/);
    const stats = await dsmProcess(["cache", "stats", "--cache-dir", root, "--json"]);
    assert.equal(stats.killed, false, "dsm cache stats blocked on the FIFO");
    assert.deepEqual(
      [JSON.parse(stats.stdout).partitions, JSON.parse(stats.stdout).unreadable],
      [2, 1],
    );
    const verify = await dsmProcess(["cache", "verify", "--cache-dir", root, "--quarantine"]);
    assert.equal(verify.killed, false, "dsm cache verify blocked on the FIFO");
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /CORRUPT {2}spot BTCUSDT 1h 2024-01-02: .*it is a FIFO.*moved to/);
    await assert.rejects(Deno.lstat(join(folder, "2024-01-02.arrow")), Deno.errors.NotFound);
  },
});

Deno.test("Hostile cache: the temporary files of killed writers are removed by the next writer of the folder", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using sandbox = await tempDir();
  const root = join(sandbox.path, "cache");
  const folder = seriesOf(root);
  await Deno.mkdir(folder, { recursive: true });
  // 14 temporary files of killed writers, untouched for half an hour (abandoned after ten
  // minutes), and one of a writer at work now
  const old = new Date(Date.now() - 1_800_000);
  for (let i = 0; i < 14; i++) {
    const temp = join(folder, `2024-01-0${1 + i % 2}.arrow.${1000 + i}.0a1b2c${i}.tmp`);
    await Deno.writeFile(temp, new Uint8Array(1000));
    await Deno.utime(temp, old, old);
  }
  const live = join(folder, "2024-01-01.arrow.999.ffffff.tmp");
  await Deno.writeFile(live, new Uint8Array(10));
  const { report, logged } = await fetchOnce(emu.url, root);
  assert.equal(report.partial, false);
  const names = (await Array.fromAsync(Deno.readDir(folder), (e) => e.name)).sort();
  assert.deepEqual(names, [
    "2024-01-01.arrow",
    "2024-01-01.arrow.999.ffffff.tmp",
    "2024-01-02.arrow",
  ]);
  assert.equal(logged.filter((m) => m.startsWith("Removed abandoned temporary")).length, 14);
});
