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

Deno.test("openKlineStore turns the cache off with read but no write permission", async () => {
  await using dir = await tempDir();
  const r = await runChild([`--allow-read=${dir.path}`], join(dir.path, "cache"));
  assert.equal(r.enabled, false);
  assert.equal(r.logs.length, 1);
  assert.match(r.logs[0], /no read and write permission/);
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
  assert.match(logs[0], /cannot create files in/);
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
