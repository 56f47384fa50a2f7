/**
 * `dsm sync` into a cache in a real S3 server (Ceph RGW), run by
 * `deno task test:s3` only: two processes at once into one prefix, every
 * object valid and exact, Polars reads the series over s3://.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { S3ObjectStore } from "../../src/cache/s3_object_store.ts";
import { decodeFundingIpc } from "../../src/codec/funding_ipc.ts";
import { decodeKlineIpc } from "../../src/codec/kline_ipc.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const RUN = `sync-${crypto.randomUUID().slice(0, 8)}`;
const URL_ = `${Deno.env.get("DSM_TEST_S3_URL")}/${RUN}`;
const ENDPOINT = Deno.env.get("AWS_ENDPOINT_URL") ?? "";
const MANIFEST = {
  entries: [
    {
      markets: ["um"],
      datasets: ["klines"],
      intervals: ["1h"],
      symbols: ["BTCUSDT", "ETHUSDT"],
      start: day(TODAY - 60 * DAY),
    },
    {
      markets: ["um"],
      datasets: ["fundingRate"],
      symbols: ["BTCUSDT"],
      start: day(TODAY - 120 * DAY),
    },
  ],
};

/** A dsm sync process into the object store (credentials from this process's environment). */
function syncProcess(url: string, manifest: string, dir: string) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-net=127.0.0.1`,
      `--allow-read=${dir}`,
      "--allow-env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,AWS_ENDPOINT_URL,AWS_ENDPOINT_URL_S3,DSM_CACHE_DIR,DSM_VISION_URL,DSM_LISTING_URL,DSM_REST_URL",
      CLI,
      "sync",
      ...["--manifest", manifest, "--cache-url", URL_, "--cache-endpoint", ENDPOINT],
      ...["--vision-url", url, "--rest-url", url, "--json", "--quiet"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test({
  name:
    "S3 sync: two processes at once into one prefix leave every object valid and exact; Polars reads it",
  ignore: !Deno.env.get("DSM_TEST_S3_URL"),
  async fn() {
    // The children read the system clock: so does the emulator.
    await using emu = await startEmulator({});
    const dir = await Deno.makeTempDir();
    const store = new S3ObjectStore({ url: URL_, endpoint: ENDPOINT });
    try {
      const manifest = join(dir, "manifest.json");
      await Deno.writeTextFile(manifest, JSON.stringify(MANIFEST));
      // A clean local run for the expected rows.
      let quiet = "";
      const io = {
        stdout: new WritableStream<Uint8Array>({
          write: (c) => void (quiet += new TextDecoder().decode(c)),
        }),
        stderr: () => {},
        stderrIsTerminal: false,
        env: () => undefined,
      };
      const local = join(dir, "local");
      const args = (cache: string[]) => [
        "sync",
        ...[
          "--manifest",
          manifest,
          ...cache,
          "--vision-url",
          emu.url,
          "--rest-url",
          emu.url,
          "--quiet",
        ],
      ];
      assert.equal(await main(args(["--cache-dir", local]), io), 0, quiet);
      // Two dsm sync processes at once into the object store.
      const runs = await Promise.all([
        syncProcess(emu.url, manifest, dir),
        syncProcess(emu.url, manifest, dir),
      ]);
      for (const r of runs) assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      const fetched = runs.map((r) =>
        JSON.parse(new TextDecoder().decode(r.stdout)).series.reduce(
          (n: number, s: { fetched: number }) => n + s.fetched,
          0,
        )
      );
      // Every object valid and equal to the local run's file, value for value.
      const objects = (await Array.fromAsync(store.list("v1/binance/"))).filter((o) =>
        o.key.endsWith(".arrow")
      );
      assert.ok(objects.length > 90, `${objects.length} objects`);
      for (const o of objects) {
        const bytes = (await store.get(o.key))!;
        const file = await Deno.readFile(join(local, o.key));
        const decode = o.key.includes("/fundingRate/") ? decodeFundingIpc : decodeKlineIpc;
        const a = decode(bytes).batches.flatMap((b) =>
          b.data.children.map((c) => Array.from(c.values as ArrayLike<unknown>).join())
        );
        const b = decode(file).batches.flatMap((b) =>
          b.data.children.map((c) => Array.from(c.values as ArrayLike<unknown>).join())
        );
        assert.deepEqual(a, b, o.key);
      }
      // A third run has nothing left to fetch.
      let out = "";
      const again = await main(
        args(["--cache-url", URL_, "--cache-endpoint", ENDPOINT, "--json"]),
        {
          ...io,
          stdout: new WritableStream<Uint8Array>({
            write: (c) => void (out += new TextDecoder().decode(c)),
          }),
          env: (name) => Deno.env.get(name),
        },
      );
      assert.equal(again, 0);
      assert.ok(JSON.parse(out).series.every((s: { fetched: number }) => s.fetched === 0));
      // Polars reads a series straight from the store.
      const pl = (await import("nodejs-polars")).default;
      const frame = pl.scanIPC(`${URL_}/v1/binance/um/klines/BTCUSDT/1h/*.arrow`).collectSync();
      // Leases: each partition fetched by one of the two processes.
      assert.equal(fetched[0] + fetched[1], objects.length, `fetched ${fetched.join(" + ")}`);
      const btcFiles = objects.filter((o) => o.key.includes("/klines/BTCUSDT/1h/")).length;
      assert.equal(frame.height, btcFiles * 24);
      console.log(
        `objects: ${objects.length}; partitions fetched by each process: ${fetched.join(", ")}`,
      );
      assert.deepEqual(frame.columns.slice(0, 2), ["open_time", "open"]);
    } finally {
      const keys = (await Array.fromAsync(store.list(""))).map((o) => o.key);
      for (const key of keys) await store.delete(key);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
