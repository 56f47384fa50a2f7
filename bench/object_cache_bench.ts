/**
 * A warm year of 1m klines (365 day partitions, 525,600 rows) read through
 * the manager (`source: "cache"`) from a local cache folder, from the same
 * files in an in-memory object store, and from that store with a delay per
 * request (a store across a network: the reads overlap), in the same run.
 * Each reader's year is checked once, in its untimed warm-up read, against
 * the rows written (open time, close and volume of every row).
 *
 * Run: `deno run -A bench/object_cache_bench.ts [rounds] [delayMs]`; with a real S3 server in the
 * environment (`eval "$(scripts/ceph_rgw.sh start)"`), its objects are read too.
 *
 * @module
 */
import { join } from "node:path";
import { FsKlineStore } from "../src/cache/fs_kline_store.ts";
import {
  MemoryObjectStore,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from "../src/cache/object_store.ts";
import type { Table } from "apache-arrow";
import { allocKlineColumns, klineBatch, klineColumnsOf } from "../src/core/schema.ts";
import { DataSourceManager } from "../src/fcp/data_source_manager.ts";
import type { CacheOptions } from "../src/fcp/open_cache.ts";
import { S3ObjectStore } from "../src/cache/s3_object_store.ts";

const DAYS = 365;
const START = Date.UTC(2023, 0, 1);
const LATER = () => Date.UTC(2030, 0, 1);
const rounds = Number(Deno.args[0] ?? 5);
const delayMs = Number(Deno.args[1] ?? 5);

/** A store that answers after a delay, as one across a network would. */
class SlowStore implements ObjectStore {
  readonly url: string;
  constructor(readonly inner: ObjectStore, readonly ms: number) {
    this.url = inner.url;
  }
  #wait = () => new Promise((r) => setTimeout(r, this.ms));
  async get(key: string) {
    await this.#wait();
    return this.inner.get(key);
  }
  async put(key: string, body: Uint8Array, options?: PutOptions) {
    await this.#wait();
    return this.inner.put(key, body, options);
  }
  async head(key: string) {
    await this.#wait();
    return this.inner.head(key);
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    await this.#wait();
    yield* this.inner.list(prefix);
  }
  async delete(key: string) {
    await this.#wait();
    return this.inner.delete(key);
  }
}

const dir = await Deno.makeTempDir({ prefix: "dsm_object_bench_" });
const files = new FsKlineStore(dir, { now: LATER });
const memory = new MemoryObjectStore("s3://bench/dsm");
for (let d = 0; d < DAYS; d++) {
  const start = START + d * 86_400_000;
  const partition = new Date(start).toISOString().slice(0, 10);
  const c = allocKlineColumns(1440);
  for (let i = 0; i < 1440; i++) {
    const t = start + i * 60_000;
    c.openTime[i] = t;
    c.closeTime[i] = t + 59_999;
    c.open[i] =
      c.high[i] =
      c.low[i] =
      c.close[i] =
        20_000 + (i % 97);
    c.volume[i] = i;
  }
  const key = { market: "spot", symbol: "BTCUSDT", interval: "1m", partition } as const;
  await files.write(key, [klineBatch(c)], { source: "VISION", complete: true });
  const rel = `v1/binance/spot/klines/BTCUSDT/1m/${partition}.arrow`;
  await memory.put(rel, await Deno.readFile(join(dir, ...rel.split("/"))));
}

/** Checks that a year read back holds the rows written, every row. */
function check(name: string, table: Table): void {
  let row = 0;
  for (const batch of table.batches) {
    const c = klineColumnsOf(batch);
    for (let i = 0; i < batch.numRows; i++, row++) {
      const minute = row % 1440;
      if (
        c.openTime[i] !== START + row * 60_000 || c.close[i] !== 20_000 + (minute % 97) ||
        c.volume[i] !== minute
      ) {
        throw new Error(`${name}: row ${row} differs from the row written`);
      }
    }
  }
  if (row !== DAYS * 1440) throw new Error(`${name}: ${row} rows, expected ${DAYS * 1440}`);
}

async function read(cache: CacheOptions, checkAs?: string): Promise<number> {
  await using dsm = new DataSourceManager({
    cache,
    now: LATER,
    endpoints: { vision: "http://127.0.0.1:9", rest: "http://127.0.0.1:9" },
  });
  const started = performance.now();
  const table = await dsm.getData({
    symbol: "BTCUSDT",
    interval: "1m",
    start: START,
    end: START + DAYS * 86_400_000,
    source: "cache",
  });
  const ms = performance.now() - started;
  if (table.numRows !== DAYS * 1440) throw new Error(`read ${table.numRows} rows`);
  if (checkAs !== undefined) check(checkAs, table);
  return ms;
}

const contenders: [string, CacheOptions][] = [
  ["local folder", { dir }],
  ["memory object store", { objectStore: memory }],
  [`object store, ${delayMs} ms a request`, { objectStore: new SlowStore(memory, delayMs) }],
];
// A real S3 server when one is running (eval "$(scripts/ceph_rgw.sh start)"): the same objects.
const s3Url = Deno.env.get("DSM_TEST_S3_URL");
const endpoint = Deno.env.get("AWS_ENDPOINT_URL");
let s3: S3ObjectStore | undefined;
if (s3Url && endpoint) {
  const url = `${s3Url}/bench-${crypto.randomUUID().slice(0, 8)}`;
  s3 = new S3ObjectStore({ url, endpoint });
  for await (const o of memory.list("")) await s3.put(o.key, (await memory.get(o.key))!);
  contenders.push(["S3 (Ceph RGW on 127.0.0.1)", { url, endpoint }]);
}
const times = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
for (const [name, cache] of contenders) await read(cache, name); // warm-up, checked
for (let r = 0; r < rounds; r++) {
  for (const [name, cache] of contenders) times.get(name)!.push(await read(cache));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(times.get("local folder")!);
console.log(
  `warm year of 1m (${DAYS} partitions), median of ${rounds}, ${navigator.hardwareConcurrency} cores`,
);
for (const [name, xs] of times) {
  const m = median(xs);
  console.log(`${name.padEnd(32)} ${m.toFixed(1).padStart(8)} ms  ${(m / base).toFixed(2)}×`);
}
await Deno.remove(dir, { recursive: true });
if (s3) { for await (const o of s3.list("")) await s3.delete(o.key); }
