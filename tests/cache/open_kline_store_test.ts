import assert from "node:assert/strict";
import { join } from "node:path";
import { CACHE_DIR_ENV, openKlineStore } from "../../src/cache/open_kline_store.ts";
import { tempDir } from "./_fixtures.ts";

const SCRIPT = new URL("./_no_fs.ts", import.meta.url).pathname;

interface ChildResult {
  enabled: boolean;
  root: string | null;
  logs: string[];
  written: boolean;
  read: number | null;
  list: number;
  invalid: string;
}

async function runChild(
  flags: string[],
  dir: string,
  env?: Record<string, string>,
): Promise<ChildResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, SCRIPT, dir],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function entries(path: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name);
}

/** Every path under a folder with its size, sorted. */
async function treeOf(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      out.push(`${path} ${e.isFile ? (await Deno.stat(path)).size : "dir"}`);
    }
  }
  await walk(root);
  return out.sort();
}

Deno.test("openKlineStore with --allow-net only turns the cache off with one debug message", async () => {
  await using dir = await tempDir();
  for (const target of [join(dir.path, "cache"), ""]) {
    const r = await runChild(["--allow-net"], target);
    assert.equal(r.enabled, false);
    assert.equal(r.root, null);
    assert.equal(r.logs.length, 1, JSON.stringify(r.logs));
    assert.match(r.logs[0], /^Cache is off: /);
    assert.equal(r.written, false);
    assert.equal(r.read, null);
    assert.equal(r.list, 0);
    assert.equal(r.invalid, "InvalidSymbolError");
  }
  assert.deepEqual(await entries(dir.path), []);
});

Deno.test("openKlineStore is read-only with read but no write permission: reads, writes nothing", async () => {
  await using dir = await tempDir();
  // a missing folder: nothing to read, nothing created
  const empty = await runChild([`--allow-read=${dir.path}`], join(dir.path, "cache"));
  assert.equal(empty.enabled, true);
  assert.equal(empty.logs.length, 1);
  assert.match(
    empty.logs[0],
    /^Cache is read-only: no write permission for ".*cache"; cached partitions are read, nothing is written; run with --allow-write=/,
  );
  assert.deepEqual([empty.written, empty.read, empty.list], [false, null, 0]);
  assert.deepEqual(await entries(dir.path), []);
  // a filled folder: the partition is read from it, and no file is added
  const root = join(dir.path, "filled");
  const filled = await runChild([`--allow-read=${root}`, `--allow-write=${root}`], root);
  assert.equal(filled.written, true);
  const before = await treeOf(root);
  const r = await runChild([`--allow-read=${root}`], root);
  assert.deepEqual([r.enabled, r.written, r.read, r.list], [true, false, 1, 1]);
  assert.match(r.logs[0], /^Cache is read-only: /);
  assert.deepEqual(await treeOf(root), before);
});

Deno.test("openKlineStore is read-only in a folder where files cannot be created (chmod 555)", {
  // root writes through a read-only mode: covered by the read-only mount case below
  ignore: Deno.build.os === "windows" || Deno.uid() === 0,
}, async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "cache");
  await runChild([`--allow-read=${root}`, `--allow-write=${root}`], root);
  const before = await treeOf(root);
  await Deno.chmod(root, 0o555);
  await Deno.chmod(join(root, "v1"), 0o555);
  try {
    const r = await runChild([`--allow-read=${root}`, `--allow-write=${root}`], root);
    assert.deepEqual([r.enabled, r.written, r.read], [true, false, 1]);
    assert.match(r.logs[0], /^Cache is read-only: cannot create files in /);
    assert.deepEqual(await treeOf(root), before);
  } finally {
    await Deno.chmod(join(root, "v1"), 0o755);
    await Deno.chmod(root, 0o755);
  }
});

/** Whether this process may make a private read-only bind mount (root on Linux with `unshare`). */
async function canMountReadOnly(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", "mount --bind / /mnt && mount -o remount,bind,ro /mnt"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test("openKlineStore is read-only on a read-only file system", {
  ignore: !(await canMountReadOnly()),
}, async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "cache");
  await runChild([`--allow-read=${root}`, `--allow-write=${root}`], root);
  const before = await treeOf(root);
  // the child runs in its own mount namespace, where the root is mounted read-only
  const flags = [`--allow-read=${root}`, `--allow-write=${root}`];
  const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"`;
  const out = await new Deno.Command("unshare", {
    args: ["-m", "sh", "-c", script, "sh", root, Deno.execPath(), "run", "--no-prompt"]
      .concat(flags, [SCRIPT, root]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r: ChildResult = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual([r.enabled, r.written, r.read, r.list], [true, false, 1, 1]);
  assert.match(r.logs[0], /^Cache is read-only: cannot create files in .*Read-only file system/);
  assert.deepEqual(await treeOf(root), before);
});

Deno.test("openKlineStore turns the cache off when the root is a file, saying so", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "a-file");
  await Deno.writeFile(file, new Uint8Array(1));
  const r = await runChild([`--allow-read=${file}`, `--allow-write=${file}`], file);
  assert.deepEqual([r.enabled, r.written, r.read, r.list], [false, false, null, 0]);
  assert.equal(r.logs.length, 1);
  assert.match(r.logs[0], /^Cache is off: ".*a-file" is not a folder; remove it or pass /);
  assert.deepEqual(await Deno.readFile(file), new Uint8Array(1));
});

Deno.test("openKlineStore readOnly creates nothing and needs read permission only", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "absent");
  const logs: string[] = [];
  const store = await openKlineStore({ dir: root, readOnly: true, logger: (m) => logs.push(m) });
  assert.deepEqual([store.enabled, store.writable, store.root], [true, false, root]);
  assert.deepEqual(await store.list(), []);
  assert.equal((await store.stats()).partitions, 0);
  assert.equal((await store.verify()).checked, 0);
  assert.deepEqual(logs, []);
  assert.deepEqual(await entries(dir.path), []);
});

Deno.test("openKlineStore works with read and write permission for the root only", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "cache");
  const r = await runChild([`--allow-read=${root}`, `--allow-write=${root}`], root);
  assert.deepEqual(
    {
      enabled: r.enabled,
      root: r.root,
      logs: r.logs,
      written: r.written,
      read: r.read,
      list: r.list,
    },
    { enabled: true, root, logs: [], written: true, read: 1, list: 1 },
  );
  assert.deepEqual(await entries(dir.path), ["cache"]);
});

Deno.test("openKlineStore takes the root from DSM_CACHE_DIR when env access is granted", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "from-env");
  const granted = await runChild(
    [`--allow-env=${CACHE_DIR_ENV}`, `--allow-read=${root}`, `--allow-write=${root}`],
    "",
    { [CACHE_DIR_ENV]: root },
  );
  assert.equal(granted.enabled, true);
  assert.equal(granted.root, root);
  // without env permission the variable is not read (and nothing prompts)
  const denied = await runChild([`--allow-read=${root}`, `--allow-write=${root}`], "", {
    [CACHE_DIR_ENV]: root,
  });
  assert.equal(denied.enabled, false);
  assert.match(denied.logs[0], /no cache folder is known/);
});

function denoDir(): string {
  const get = (name: string) => Deno.env.get(name) ?? "";
  if (get("DENO_DIR")) return get("DENO_DIR");
  if (Deno.build.os === "windows") return join(get("LOCALAPPDATA"), "deno");
  if (Deno.build.os === "darwin") return join(get("HOME"), "Library", "Caches", "deno");
  return join(get("XDG_CACHE_HOME") || join(get("HOME"), ".cache"), "deno");
}

Deno.test("openKlineStore falls back to the platform cache folder", async () => {
  await using dir = await tempDir();
  const env: Record<string, string> = Deno.build.os === "windows"
    ? { LOCALAPPDATA: dir.path }
    : Deno.build.os === "darwin"
    ? { HOME: dir.path }
    : { XDG_CACHE_HOME: dir.path, HOME: "/nonexistent" };
  const expected = Deno.build.os === "darwin"
    ? join(dir.path, "Library", "Caches", "dsm")
    : join(dir.path, "dsm");
  const r = await runChild(
    ["--allow-env", `--allow-read=${dir.path}`, `--allow-write=${dir.path}`],
    "",
    {
      ...env,
      [CACHE_DIR_ENV]: "",
      DENO_DIR: denoDir(), // keep Deno's own cache where it is
    },
  );
  assert.equal(r.root, expected);
  assert.equal(r.enabled, true);
});

Deno.test("openKlineStore turns the cache off when the root cannot be created", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "a-file");
  await Deno.writeFile(file, new Uint8Array(1));
  const logs: string[] = [];
  const store = await openKlineStore({ dir: join(file, "cache"), logger: (m) => logs.push(m) });
  assert.equal(store.enabled, false);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^Cache is off: cannot create files in .*; create the folder or pass /);
});

Deno.test("openKlineStore with dir false is off without a message", async () => {
  const logs: string[] = [];
  const store = await openKlineStore({ dir: false, logger: (m) => logs.push(m) });
  assert.equal(store.enabled, false);
  assert.deepEqual(logs, []);
});

Deno.test("openKlineStore normalises the root and leaves no probe file", async () => {
  await using dir = await tempDir();
  const store = await openKlineStore({ dir: join(dir.path, "x", "..", "cache") });
  assert.equal(store.root, join(dir.path, "cache"));
  assert.deepEqual(await entries(join(dir.path, "cache", "v1")), []);
});
