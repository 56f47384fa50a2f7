import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import {
  ChecksumError,
  CsvFormatError,
  NetworkError,
  ResponseTooLargeError,
} from "../../src/core/errors.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import { encodeZip } from "../../src/codec/zip_encoder.ts";
import { AGG_TRADE_SCHEMA, TRADE_SCHEMA } from "../../src/core/trade_schema.ts";
import { VisionClient, type VisionTradeArchiveRequest } from "../../src/source/vision_client.ts";

const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const enc = new TextEncoder();
const T = Date.UTC(2024, 0, 1);

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** um aggTrades CSV (with header), `rows` rows 1 ms apart. */
function aggCsv(rows: number): string {
  const lines = [
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
  ];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `${1000 + i},${42000 + (i % 97)}.${i % 10},0.${String(i).padStart(3, "0")},${2 * i},${
        2 * i + 1
      },${T + i},${i % 2 === 0}`,
    );
  }
  return lines.join("\n") + "\n";
}

const UM_DAY: VisionTradeArchiveRequest = {
  market: "um",
  dataset: "aggTrades",
  symbol: "BTCUSDT",
  period: "daily",
  date: "2024-01-01",
};
const ZIP = "BTCUSDT-aggTrades-2024-01-01.zip";
const URL_PATH = `/data/futures/um/daily/aggTrades/BTCUSDT/${ZIP}`;

interface Archive {
  zip: Uint8Array<ArrayBuffer>;
  checksum: string;
}

async function archive(name: string, csv: string, dataDescriptor = false): Promise<Archive> {
  const zip = new Uint8Array(
    await encodeZip(name.replace(/\.zip$/, ".csv"), enc.encode(csv), { dataDescriptor }),
  );
  return { zip, checksum: `${await sha256Hex(zip)}  ${name}` };
}

type Handler = (path: string, call: number) => Response | Promise<Response>;

/** A fetch stub counting calls per path. */
function stub(handler: Handler) {
  const calls = new Map<string, number>();
  const fetch: typeof globalThis.fetch = async (input) => {
    const path = new URL(String(input)).pathname;
    const call = (calls.get(path) ?? 0) + 1;
    calls.set(path, call);
    return await handler(path, call);
  };
  return { fetch, calls };
}

/** Serves `a` (zip and checksum) at URL_PATH; `zipFor` may replace the zip per call. */
function serving(a: Archive, zipFor?: (call: number) => Response | undefined): Handler {
  return (path, call) => {
    if (path === `${URL_PATH}.CHECKSUM`) return new Response(a.checksum);
    if (path === URL_PATH) return zipFor?.(call) ?? new Response(a.zip);
    return new Response("not found", { status: 404 });
  };
}

function client(fetch: typeof globalThis.fetch, batchRows?: number): VisionClient {
  return new VisionClient({ baseUrl: "http://127.0.0.1:1", fetch, retry: FAST, batchRows });
}

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
}

function ids(batches: RecordBatch[]): bigint[] {
  return batches.flatMap((b) => [...b.getChild(b.schema.fields[0].name)!] as bigint[]);
}

Deno.test("fetchTradeArchive returns a verified daily archive's rows, decoded as the CSV decoder does", async () => {
  const csv = aggCsv(3000);
  const a = await archive(ZIP, csv, true);
  const { fetch } = stub(serving(a));
  await using got = await client(fetch, 1024).fetchTradeArchive(UM_DAY);
  assert.equal(got.status, "ok");
  if (got.status !== "ok") return;
  assert.equal(got.bytes, a.zip.length);
  assert.equal(got.sha256, a.checksum.slice(0, 64));
  assert.equal(got.spoolPath, undefined);
  assert.equal(got.url, `http://127.0.0.1:1${URL_PATH}`);
  const batches = await Array.fromAsync(got.rows);
  assert.ok(batches.every((b) => b.schema === AGG_TRADE_SCHEMA && b.numRows <= 1024));
  const want = decodeTradeCsv(enc.encode(csv), { dataset: "aggTrades", market: "um" });
  assert.deepEqual(ids(batches), ids(want));
  const prices = (bs: RecordBatch[]) => bs.flatMap((b) => [...b.getChild("price")!]);
  assert.deepEqual(prices(batches), prices(want));
});

Deno.test("fetchTradeArchive never yields rows of an archive whose checksum does not match", async () => {
  const a = await archive(ZIP, aggCsv(10));
  const other = await archive(ZIP, aggCsv(11));
  const { fetch, calls } = stub(serving({ zip: a.zip, checksum: other.checksum }));
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      client(fetch).fetchTradeArchive({ ...UM_DAY, spoolDir: dir }),
      (error: unknown) =>
        error instanceof ChecksumError && error.expected === other.checksum.slice(0, 64),
    );
    // One mismatch retried, then the error; no spool file left behind.
    assert.equal(calls.get(URL_PATH), 2);
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchTradeArchive retries one mismatch and returns the good second download", async () => {
  const a = await archive(ZIP, aggCsv(10));
  const bad = await archive(ZIP, aggCsv(9));
  const { fetch, calls } = stub(
    serving(a, (call) => call === 1 ? new Response(bad.zip) : undefined),
  );
  await using got = await client(fetch).fetchTradeArchive(UM_DAY);
  assert.equal(calls.get(URL_PATH), 2);
  assert.equal(got.status === "ok" && ids(await Array.fromAsync(got.rows)).length, 10);
});

Deno.test("fetchTradeArchive reports a missing zip or checksum (404, 403) as missing", async () => {
  const a = await archive(ZIP, aggCsv(1));
  const cases: [Handler, "zip" | "checksum"][] = [
    [
      (path) => path === URL_PATH ? new Response("", { status: 404 }) : new Response(a.checksum),
      "zip",
    ],
    [
      (path) => path === URL_PATH ? new Response("", { status: 403 }) : new Response(a.checksum),
      "zip",
    ],
    [
      (path) => path === URL_PATH ? new Response(a.zip) : new Response("", { status: 404 }),
      "checksum",
    ],
  ];
  for (const [handler, missing] of cases) {
    await using got = await client(stub(handler).fetch).fetchTradeArchive(UM_DAY);
    const { status, url } = got;
    assert.deepEqual({ status, url, missing: got.status === "missing" && got.missing }, {
      status: "missing",
      url: `http://127.0.0.1:1${URL_PATH}`,
      missing,
    });
  }
});

Deno.test("fetchTradeArchive retries a truncated body and fails with NetworkError when it stays cut", async () => {
  const a = await archive(ZIP, aggCsv(200));
  const cut = () =>
    new Response(a.zip.slice(0, 100), { headers: { "content-length": String(a.zip.length) } });
  const { fetch, calls } = stub(serving(a, cut));
  await assert.rejects(client(fetch).fetchTradeArchive(UM_DAY), NetworkError);
  assert.equal(calls.get(URL_PATH), FAST.attempts);
  // Cut without a Content-Length: the digest tells (a mismatch, retried once).
  const { fetch: f2 } = stub(serving(a, () => new Response(a.zip.slice(0, 100))));
  await assert.rejects(client(f2).fetchTradeArchive(UM_DAY), ChecksumError);
  // A body that fails mid-way is retried like a reset.
  const failing = (call: number) =>
    call === 1
      ? new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(a.zip.slice(0, 50));
            c.error(new Error("connection reset"));
          },
        }),
      )
      : undefined;
  const { fetch: f3, calls: c3 } = stub(serving(a, failing));
  await using got = await client(f3).fetchTradeArchive(UM_DAY);
  assert.equal(c3.get(URL_PATH), 2);
  assert.equal(got.status === "ok" && ids(await Array.fromAsync(got.rows)).length, 200);
});

Deno.test("fetchTradeArchive without spoolDir refuses an archive beyond the memory cap", async () => {
  const a = await archive(ZIP, aggCsv(5000));
  // Declared length over the cap: refused before the body is read, not retried.
  const { fetch, calls } = stub(serving(a));
  await assert.rejects(
    client(fetch).fetchTradeArchive({ ...UM_DAY, maxMemoryBytes: 1000 }),
    (error: unknown) =>
      error instanceof ResponseTooLargeError && error.limit === 1000 &&
      /give spoolDir/.test(error.message),
  );
  assert.equal(calls.get(URL_PATH), 1);
  // No Content-Length (a chunked body): refused at the chunk that passes the cap.
  const chunked = () => new Response(ReadableStream.from([a.zip.slice(0, 800), a.zip.slice(800)]));
  const { fetch: f2, calls: c2 } = stub(serving(a, chunked));
  await assert.rejects(
    client(f2).fetchTradeArchive({ ...UM_DAY, maxMemoryBytes: 1000 }),
    ResponseTooLargeError,
  );
  assert.equal(c2.get(URL_PATH), 1);
});

Deno.test("fetchTradeArchive spools a monthly archive to spoolDir and removes the file once the rows are read", async () => {
  const name = "BTCUSDT-trades-2024-01.zip";
  const csv = Array.from(
    { length: 5000 },
    (_, i) => `${i + 1},42000.5,0.001,42.0005,${T * 1000 + i},True,True`,
  )
    .join("\n");
  const a = await archive(name, csv);
  const path = `/data/spot/monthly/trades/BTCUSDT/${name}`;
  const { fetch } = stub((p) =>
    p === path
      ? new Response(a.zip)
      : p === `${path}.CHECKSUM`
      ? new Response(a.checksum)
      : new Response("", { status: 404 })
  );
  const dir = await Deno.makeTempDir();
  try {
    const got = await client(fetch, 1000).fetchTradeArchive({
      market: "spot",
      dataset: "trades",
      symbol: "BTCUSDT",
      period: "monthly",
      date: "2024-01",
      spoolDir: dir,
      maxMemoryBytes: 100, // the file is used: the memory cap does not apply
    });
    assert.equal(got.status, "ok");
    if (got.status !== "ok") return;
    assert.ok(got.spoolPath?.startsWith(dir));
    assert.deepEqual(await listDir(dir), [got.spoolPath!.slice(dir.length + 1)]);
    const batches = await Array.fromAsync(got.rows);
    assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 5000);
    assert.ok(batches.every((b) => b.schema === TRADE_SCHEMA && b.numRows <= 1000));
    assert.equal(batches[0].getChild("time")?.data[0].values[3], BigInt(T * 1000 + 3));
    assert.deepEqual(await listDir(dir), []);
    await got[Symbol.asyncDispose](); // idempotent
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchTradeArchive removes the spool file when the rows are cancelled or the result disposed", async () => {
  const a = await archive(ZIP, aggCsv(5000));
  const { fetch } = stub(serving(a));
  const dir = await Deno.makeTempDir();
  try {
    const c = client(fetch, 1000);
    // Cancelled after one batch.
    const got = await c.fetchTradeArchive({ ...UM_DAY, spoolDir: dir });
    assert.ok(got.status === "ok");
    for await (const batch of got.rows) {
      assert.equal(batch.numRows, 1000);
      break;
    }
    assert.deepEqual(await listDir(dir), []);
    // Disposed without reading.
    {
      await using unread = await c.fetchTradeArchive({ ...UM_DAY, spoolDir: dir });
      assert.equal((await listDir(dir)).length, 1);
      assert.equal(unread.status, "ok");
    }
    assert.deepEqual(await listDir(dir), []);
    // Disposed while a reader holds the stream: its next read fails, the file is gone.
    const held = await c.fetchTradeArchive({ ...UM_DAY, spoolDir: dir });
    assert.ok(held.status === "ok");
    const reader = held.rows.getReader();
    await reader.read();
    await held[Symbol.asyncDispose]();
    assert.deepEqual(await listDir(dir), []);
    await reader.read().catch(() => {});
    await reader.cancel().catch(() => {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchTradeArchive: a verified archive that does not parse errors the rows with CsvFormatError", async () => {
  const a = await archive(ZIP, aggCsv(3) + "1,2,3\n");
  const dir = await Deno.makeTempDir();
  try {
    const got = await client(stub(serving(a)).fetch).fetchTradeArchive({
      ...UM_DAY,
      spoolDir: dir,
    });
    assert.ok(got.status === "ok");
    await assert.rejects(
      Array.fromAsync(got.rows),
      (error: unknown) =>
        error instanceof CsvFormatError && error.line === 5 &&
        error.file === "BTCUSDT-aggTrades-2024-01-01.csv",
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchTradeArchive refuses misuse before any I/O", async () => {
  const { fetch, calls } = stub(() => new Response(""));
  const c = client(fetch);
  const bad: [Partial<VisionTradeArchiveRequest>, string | RegExp][] = [
    [{ dataset: "klines" as "trades" }, "INVALID_DATASET"],
    [{ period: "weekly" as "daily" }, /period "weekly"/],
    [{ symbol: "btc/usdt" }, "INVALID_SYMBOL"],
    [{ date: "2024-01" }, "INVALID_TIME"],
    [{ market: "eu" as "um" }, "INVALID_MARKET"],
    [{ maxMemoryBytes: 0 }, "INVALID_RANGE"],
    [{ spoolDir: "" }, /spoolDir/],
  ];
  for (const [change, want] of bad) {
    const check = typeof want === "string" ? { code: want } : want;
    await assert.rejects(c.fetchTradeArchive({ ...UM_DAY, ...change }), check);
  }
  assert.equal(calls.size, 0);
});

Deno.test("fetchTradeArchive rejects with the signal's reason when aborted during the download", async () => {
  const a = await archive(ZIP, aggCsv(10));
  const controller = new AbortController();
  const dir = await Deno.makeTempDir();
  const { fetch } = stub(serving(a, () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(a.zip.slice(0, 10));
        controller.abort(new Error("stop"));
      },
    });
    return new Response(body);
  }));
  try {
    await assert.rejects(
      client(fetch).fetchTradeArchive({ ...UM_DAY, spoolDir: dir, signal: controller.signal }),
      /stop/,
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchTradeArchive needs write permission for spoolDir only", async () => {
  const a = await archive(ZIP, aggCsv(100));
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === URL_PATH) return new Response(a.zip);
    if (path === `${URL_PATH}.CHECKSUM`) return new Response(a.checksum);
    return new Response("", { status: 404 });
  });
  const dir = await Deno.makeTempDir();
  const scripts = await Deno.makeTempDir();
  try {
    const script = `${scripts}/spool.ts`;
    await Deno.writeTextFile(
      script,
      `
      import { VisionClient } from ${
        JSON.stringify(new URL("../../src/source/vision_client.ts", import.meta.url).href)
      };
      const client = new VisionClient({ baseUrl: "http://127.0.0.1:${server.addr.port}" });
      await using got = await client.fetchTradeArchive({
        market: "um", dataset: "aggTrades", symbol: "BTCUSDT", period: "daily", date: "2024-01-01",
        spoolDir: Deno.args[0],
      });
      if (got.status !== "ok") throw new Error(got.status);
      const seen = [...Deno.readDirSync(Deno.args[0])].length;
      if (Deno.permissions.querySync({ name: "write" }).state === "granted") throw new Error("write everywhere");
      let rows = 0;
      for await (const batch of got.rows) rows += batch.numRows;
      console.log(JSON.stringify({ seen, rows, after: [...Deno.readDirSync(Deno.args[0])].length }));
    `,
    );
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${config}`,
        "--no-prompt",
        `--allow-net=127.0.0.1:${server.addr.port}`,
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        script,
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
      seen: 1,
      rows: 100,
      after: 0,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
