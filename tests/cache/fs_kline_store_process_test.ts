import assert from "node:assert/strict";
import { join } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import { decodeKlineIpc, encodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import { candles, keyOf, LATER, tempDir } from "./_fixtures.ts";

const WRITER = new URL("./_writer.ts", import.meta.url).pathname;
const unix = Deno.build.os !== "windows";

function writer(job: Record<string, unknown>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-write", WRITER, JSON.stringify(job)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Reads the child's stdout line by line. */
function lines(child: Deno.ChildProcess): () => Promise<string | undefined> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return async () => {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      text += value;
    }
    const at = text.indexOf("\n");
    const line = text.slice(0, at);
    text = text.slice(at + 1);
    return line;
  };
}

const names = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);

Deno.test({
  name: "FsKlineStore writer killed with SIGKILL mid-write leaves no visible partial file",
  ignore: !unix,
  async fn() {
    await using dir = await tempDir();
    const folder = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT", "1s");
    // A 1s day (86,400 rows, ~7.6 MB) written once, then rewritten: the child
    // stops halfway through the temporary file and says so before it is killed.
    const child = writer({
      root: dir.path,
      partitions: ["2024-01-01"],
      interval: "1s",
      source: "REST",
      now: LATER(),
      pauseMidWrite: true,
    });
    const next = lines(child);
    let paused: string | undefined;
    try {
      assert.equal(await next(), "written");
      paused = await next();
    } finally {
      child.kill("SIGKILL");
      await child.stdout.cancel().catch(() => {});
    }
    assert.equal((await child.status).signal, "SIGKILL");
    const temp = paused?.match(/^paused (\S+\.tmp)$/)?.[1];
    assert.ok(temp, `the writer did not pause: ${paused}`);
    const files = await names(folder);
    assert.deepEqual(files.sort(), ["2024-01-01.arrow", temp].sort());
    // the abandoned temporary file holds half a file; the visible one is whole
    const whole = (await Deno.stat(join(folder, "2024-01-01.arrow"))).size;
    assert.equal((await Deno.stat(join(folder, temp))).size, Math.floor(whole / 2));
    const store = new FsKlineStore(dir.path, { now: LATER });
    const key = keyOf("2024-01-01", { interval: "1s" });
    assert.equal((await store.read(key))?.metadata.rows, 86_400);
    const report = await store.verify();
    assert.deepEqual([report.checked, report.ok, report.corrupt.length], [1, 1, 0]);
    assert.equal((await store.list()).length, 1);
  },
});

Deno.test("FsKlineStore: 8 processes writing the same partitions leave valid identical files", async () => {
  await using dir = await tempDir();
  const partitions = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"];
  // REST over REST is rewritten, so every process really writes every partition
  const job = { root: dir.path, partitions, interval: "1m", source: "REST", now: LATER() };
  const children = Array.from({ length: 8 }, () => writer(job));
  const outputs = await Promise.all(children.map((c) => c.output()));
  for (const out of outputs) {
    assert.equal(out.code, 0);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "written");
  }
  const folder = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT", "1m");
  assert.deepEqual((await names(folder)).sort(), partitions.map((p) => `${p}.arrow`));
  for (const p of partitions) {
    const start = Date.parse(`${p}T00:00:00Z`);
    const expected = encodeKlineIpc([candles(start, start + 86_400_000)], {
      market: "spot",
      symbol: "BTCUSDT",
      interval: "1m",
      partition: p,
      source: "REST",
      visionSha256: "ab".repeat(32),
      gaps: [],
      writtenAt: LATER(),
    });
    const actual = await Deno.readFile(join(folder, `${p}.arrow`));
    assert.equal(decodeKlineIpc(actual).metadata.rows, 1440);
    assert.deepEqual(actual, expected, p);
  }
});
