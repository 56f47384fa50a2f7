/**
 * `dsm sync` killed with SIGKILL at random points, twice, then run again:
 * it ends complete, and every cached partition holds exactly the rows of a
 * single clean run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { main } from "../../src/cli/main.ts";
import { decodeFundingIpc } from "../../src/codec/funding_ipc.ts";
import { decodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { filesUnder, NOW, tempDir } from "./_harness.ts";
import { prng } from "./_child.ts";

const unix = Deno.build.os !== "windows";
const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const MANIFEST = {
  entries: [
    {
      markets: ["um"],
      datasets: ["klines"],
      intervals: ["1h"],
      symbols: ["BTCUSDT", "ETHUSDT"],
      start: "2024-09-01",
    },
    {
      markets: ["um"],
      datasets: ["fundingRate"],
      symbols: ["BTCUSDT", "ETHUSDT"],
      start: "2024-06-01",
    },
  ],
};

function syncArgs(url: string, manifest: string, cache: string): string[] {
  return [
    "sync",
    "--manifest",
    manifest,
    "--cache-dir",
    cache,
    "--vision-url",
    url,
    "--rest-url",
    url,
    "--quiet",
    // A killed process's leases end after a second (the default is 30 s).
    "--lease-seconds",
    "1",
  ];
}

/** Every value of every batch, as text: equal text, equal rows. */
function rowsText(batches: RecordBatch[]): string {
  return batches.map((b) =>
    b.data.children.map((c) =>
      `${c.nullCount}:${Array.from(c.values as ArrayLike<unknown>, String).join(",")}`
    )
      .join("|")
  ).join("\n");
}

async function partitions(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of await filesUnder(root)) {
    if (!file.endsWith(".arrow")) continue;
    const bytes = await Deno.readFile(join(root, file));
    const decoded = file.includes("/fundingRate/")
      ? decodeFundingIpc(bytes)
      : decodeKlineIpc(bytes);
    out.set(file, rowsText(decoded.batches));
  }
  return out;
}

Deno.test({
  name: "Sync crash: killed twice at random points, the next run completes with a clean run's rows",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({ now: NOW, latencyMs: 10, jitterMs: 20 });
    await using clean = await tempDir();
    await using crashed = await tempDir();
    const manifest = join(clean.path, "manifest.json");
    await Deno.writeTextFile(manifest, JSON.stringify(MANIFEST));
    const io = { stderr: () => {}, stderrIsTerminal: false, env: () => undefined, now: () => NOW };
    const quiet = new WritableStream<Uint8Array>();
    assert.equal(
      await main(syncArgs(emu.url, manifest, join(clean.path, "c")), { ...io, stdout: quiet }),
      0,
    );
    const expected = await partitions(join(clean.path, "c"));
    assert.ok(expected.size > 150, `${expected.size} partitions`);

    const random = prng(20261206);
    const cache = join(crashed.path, "c");
    const killedAfter: number[] = [];
    for (let kill = 0; kill < 2; kill++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          `--allow-read=${crashed.path},${manifest}`,
          `--allow-write=${crashed.path}`,
          CLI,
          ...syncArgs(emu.url, manifest, cache),
        ],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      // Kill once this run has cached a few partitions, after a random extra delay.
      const before = killedAfter.at(-1) ?? 0;
      const cached = async () =>
        (await filesUnder(crashed.path).catch(() => [])).filter((f) => f.endsWith(".arrow")).length;
      while (await cached() < before + 5) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, Math.floor(random() * 300)));
      try {
        child.kill("SIGKILL");
      } catch { /* it ended */ }
      const status = await child.status;
      await child.stderr.cancel();
      killedAfter.push((await filesUnder(cache)).filter((f) => f.endsWith(".arrow")).length);
      assert.ok(
        status.signal === "SIGKILL" || status.code === 0,
        `kill ${kill}: ${JSON.stringify(status)}`,
      );
    }
    let out = "";
    const stdout = new WritableStream<Uint8Array>({
      write: (c) => void (out += new TextDecoder().decode(c)),
    });
    assert.equal(await main(syncArgs(emu.url, manifest, cache), { ...io, stdout }), 0, out);
    const got = await partitions(cache);
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [file, rows] of expected) assert.equal(got.get(file), rows, file);
    console.log(`partitions cached at the kills: ${killedAfter.join(", ")} of ${expected.size}`);
  },
});
