/**
 * The object-store cache against a real S3 server (Ceph RGW), run by
 * `deno task test:s3` only: a corrupt object is set aside and fetched
 * again; a dsm sync killed mid-write leaves only valid objects, and the next
 * run completes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { S3ObjectStore } from "../../src/cache/s3_object_store.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const ENDPOINT = Deno.env.get("AWS_ENDPOINT_URL") ?? "";
const ready = Boolean(Deno.env.get("DSM_TEST_S3_URL"));
const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

function prefix(): string {
  return `${Deno.env.get("DSM_TEST_S3_URL")}/cache-${crypto.randomUUID().slice(0, 8)}`;
}

async function removeAll(store: S3ObjectStore): Promise<void> {
  for (const o of await Array.fromAsync(store.list(""))) await store.delete(o.key);
}

Deno.test({
  name: "S3 cache: a corrupt object is set aside under quarantine/ and fetched again, exact",
  ignore: !ready,
  async fn() {
    const now = Date.UTC(2024, 6, 2);
    await using emu = await startEmulator({ now });
    const url = prefix();
    const store = new S3ObjectStore({ url, endpoint: ENDPOINT });
    const request = {
      symbol: "BTCUSDT",
      interval: "1h",
      start: "2024-05-01",
      end: "2024-05-03",
      market: "um",
    } as const;
    const manager = () =>
      new DataSourceManager({
        market: "um",
        now: () => now,
        cache: { url, endpoint: ENDPOINT },
        endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
      });
    try {
      {
        await using dsm = manager();
        const first = await dsm.getDataWithReport(request);
        assert.equal(first.table.numRows, 48);
      }
      const key = "v1/binance/um/klines/BTCUSDT/1h/2024-05-01.arrow";
      const good = (await store.get(key))!;
      await store.put(key, good.subarray(0, good.length - 100)); // truncated
      await using dsm = manager();
      const again = await dsm.getDataWithReport(request);
      assert.equal(again.table.numRows, 48);
      assert.ok(
        again.report.failures.some((f) => f.code === "CACHE_ERROR"),
        JSON.stringify(again.report.failures),
      );
      const sources = new Set(again.table.getChild("_data_source")!.toArray());
      assert.ok(sources.has("VISION") && sources.has("CACHE"));
      assert.deepEqual(await store.get(key), good, "the partition is whole again");
      const quarantined = await Array.fromAsync(store.list("quarantine/"));
      assert.equal(quarantined.length, 1);
      assert.ok(quarantined[0].key.startsWith(`quarantine/${key}`));
    } finally {
      await removeAll(store);
    }
  },
});

Deno.test({
  name: "S3 cache: a dsm sync killed mid-write leaves only valid objects; the next run completes",
  ignore: !ready || Deno.build.os === "windows",
  async fn() {
    await using emu = await startEmulator({ latencyMs: 5 });
    const url = prefix();
    const store = new S3ObjectStore({ url, endpoint: ENDPOINT });
    const dir = await Deno.makeTempDir();
    try {
      const manifest = join(dir, "manifest.json");
      await Deno.writeTextFile(
        manifest,
        JSON.stringify({
          markets: ["um"],
          datasets: ["klines"],
          intervals: ["1h"],
          symbols: ["BTCUSDT", "ETHUSDT"],
          start: day(TODAY - 100 * DAY),
        }),
      );
      const args = [
        "sync",
        ...["--manifest", manifest, "--cache-url", url, "--cache-endpoint", ENDPOINT],
        ...["--vision-url", emu.url, "--rest-url", emu.url, "--quiet", "--lease-seconds", "1"],
      ];
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          `--allow-read=${dir}`,
          "--allow-env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,AWS_ENDPOINT_URL,AWS_ENDPOINT_URL_S3,DSM_CACHE_DIR,DSM_VISION_URL,DSM_LISTING_URL,DSM_REST_URL",
          CLI,
          ...args,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const objects = async () =>
        (await Array.fromAsync(store.list("v1/binance/"))).filter((o) => o.key.endsWith(".arrow"))
          .length;
      let exited = false;
      child.status.then(() => exited = true);
      while (!exited && await objects() < 10) await new Promise((r) => setTimeout(r, 50));
      try {
        child.kill("SIGKILL");
      } catch { /* it ended */ }
      await child.status;
      const atKill = await objects();
      // Every object there is valid.
      let out = "";
      const io = {
        stdout: new WritableStream<Uint8Array>({
          write: (c) => void (out += new TextDecoder().decode(c)),
        }),
        stderr: (t: string) => void (out += t),
        stderrIsTerminal: false,
        env: (name: string) => Deno.env.get(name),
      };
      const verify = await main([
        "cache",
        "verify",
        "--cache-url",
        url,
        "--cache-endpoint",
        ENDPOINT,
      ], io);
      assert.equal(verify, 0, out);
      // The next run completes, fetching only what the kill left out.
      out = "";
      assert.equal(await main([...args, "--json"], io), 0, out);
      const summary = JSON.parse(out);
      const fetched = summary.series.reduce(
        (n: number, s: { fetched: number }) => n + s.fetched,
        0,
      );
      const total = summary.series.reduce(
        (n: number, s: { partitions: number }) => n + s.partitions,
        0,
      );
      assert.equal(fetched, total - atKill);
      assert.equal(await objects(), total);
    } finally {
      await removeAll(store);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
