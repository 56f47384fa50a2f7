import assert from "node:assert/strict";
import { KlineDecodePool } from "../../src/codec/kline_decode_pool.ts";
import { ChecksumError, CsvFormatError, HttpError, NetworkError } from "../../src/core/errors.ts";
import { encodeZip } from "../../src/codec/zip_encoder.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { KLINE_COLUMN_NAMES as NAMES } from "../../src/core/schema.ts";
import {
  VisionClient,
  type VisionFileOk,
  type VisionFileResult,
  type VisionProgress,
} from "../../src/source/vision_client.ts";
import type { VisionFileRef } from "../../src/source/vision_url.ts";

const FAST = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const enc = new TextEncoder();
const DAY = Date.UTC(2024, 0, 1);

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

interface CsvOptions {
  start?: number;
  stepMs?: number;
  rows?: number;
  micro?: boolean;
  header?: boolean;
}

/** Kline CSV text in Vision's format; row i opens at start + i * step. */
function klineCsv(options: CsvOptions = {}): string {
  const { start = DAY, stepMs = 60_000, rows = 1440, micro = false, header = false } = options;
  const lines = header
    ? [
      "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore",
    ]
    : [];
  const unit = micro ? 1000 : 1;
  for (let i = 0; i < rows; i++) {
    const open = (start + i * stepMs) * unit;
    const close = open + stepMs * unit - 1;
    const p = (100 + i / 100).toFixed(8);
    lines.push(`${open},${p},${p},${p},${p},1.5,${close},150.25,${i},0.5,50.125,0`);
  }
  return lines.join("\n") + "\n";
}

const SPOT_DAY: VisionFileRef = {
  market: "spot",
  symbol: "BTCUSDT",
  interval: "1m",
  period: "daily",
  date: "2024-01-01",
};
const PATH = "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip";

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

type Handler = (path: string, call: number, req: Request) => Response | Promise<Response>;

/** A loopback server counting requests per path. */
function serve(handler: Handler) {
  const calls = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    const call = (calls.get(path) ?? 0) + 1;
    calls.set(path, call);
    return handler(path, call, req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls: (path: string) => calls.get(path) ?? 0,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Serves fixed archives by path; anything else is a 404. */
function files(map: Record<string, Archive>): Handler {
  return (path) => {
    const zipPath = path.replace(/\.CHECKSUM$/, "");
    const file = map[zipPath];
    if (!file) return new Response("NoSuchKey", { status: 404 });
    return new Response(path.endsWith(".CHECKSUM") ? file.checksum : file.zip);
  };
}

function ok(result: VisionFileResult): VisionFileOk {
  assert.equal(result.status, "ok");
  return result as VisionFileOk;
}

function column(result: VisionFileOk, name: string): unknown[] {
  return result.batches.flatMap((b) => [...b.getChild(name)!]);
}

Deno.test("VisionClient decodes a verified spot ms file into batches", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv());
  await using stub = serve(files({ [PATH]: file }));
  const events: VisionProgress[] = [];
  const client = new VisionClient({
    baseUrl: stub.url,
    batchRows: 500,
    onProgress: (p) => events.push(p),
  });
  const result = ok(await client.fetchFile(SPOT_DAY));
  assert.equal(result.rows, 1440);
  assert.deepEqual(result.batches.map((b) => b.numRows), [500, 500, 440]);
  assert.equal(result.bytes, file.zip.length);
  assert.equal(result.sha256, file.checksum.slice(0, 64));
  assert.equal(result.url, stub.url + PATH);
  assert.equal(result.attempts, 1);
  assert.ok(result.ms >= 0);
  const open = column(result, "open_time");
  assert.equal(open[0], DAY);
  assert.equal(open[1439], DAY + 1439 * 60_000);
  assert.equal(column(result, "close_time")[0], DAY + 59_999);
  assert.equal(column(result, "open")[1], 100.01);
  assert.equal(column(result, "count")[7], 7n);
  const last = events.at(-1)!;
  assert.deepEqual(last, {
    url: result.url,
    bytes: file.zip.length,
    done: true,
    status: "ok",
    rows: 1440,
  });
  assert.ok(events.slice(0, -1).every((e) => !e.done && e.bytes <= file.zip.length));
});

Deno.test("VisionClient reads µs files, headers and data-descriptor zips", async () => {
  const cases: [string, CsvOptions, boolean][] = [
    ["spot 2025 µs", { micro: true, start: Date.UTC(2025, 0, 1) }, false],
    ["futures with header", { header: true }, false],
    ["futures with header, data descriptor", { header: true }, true],
    ["no header, data descriptor", {}, true],
  ];
  for (const [label, csv, dataDescriptor] of cases) {
    // Each archive is served as the file of its own day (another day's rows are refused).
    const date = new Date(csv.start ?? DAY).toISOString().slice(0, 10);
    const file = await archive(
      `BTCUSDT-1m-${date}.zip`,
      klineCsv({ rows: 60, ...csv }),
      dataDescriptor,
    );
    await using stub = serve(files({ [PATH.replaceAll("2024-01-01", date)]: file }));
    const client = new VisionClient({ baseUrl: stub.url });
    const result = ok(await client.fetchFile({ ...SPOT_DAY, date }));
    assert.equal(result.rows, 60, label);
    const start = csv.start ?? DAY;
    assert.equal(column(result, "open_time")[59], start + 59 * 60_000, label);
    assert.equal(column(result, "close_time")[0], start + 59_999, label);
  }
});

Deno.test("VisionClient reports 404 and 403 as missing, not as errors", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 2 }));
  const cases: [Handler, "zip" | "checksum"][] = [
    (() => new Response("no", { status: 404 })) as Handler,
    (() => new Response("no", { status: 403 })) as Handler,
    ((path: string) =>
      path.endsWith(".CHECKSUM")
        ? new Response(file.checksum)
        : new Response("", { status: 404 })) as Handler,
    ((path: string) =>
      path.endsWith(".CHECKSUM")
        ? new Response("", { status: 403 })
        : new Response(file.zip)) as Handler,
  ].map((h, i) => [h, i === 3 ? "checksum" : "zip"]);
  for (const [handler, which] of cases) {
    await using stub = serve(handler);
    const result = await new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY);
    assert.deepEqual(result, { status: "missing", url: stub.url + PATH, missing: which });
    assert.equal(stub.calls(PATH), 1);
  }
});

Deno.test("VisionClient retries 5xx on either file, then succeeds", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 10 }));
  const serveFile = files({ [PATH]: file });
  await using stub = serve((path, call, req) => {
    if (path.endsWith(".CHECKSUM") && call === 1) return new Response("", { status: 503 });
    if (!path.endsWith(".CHECKSUM") && call === 2) return new Response("", { status: 500 });
    return serveFile(path, call, req);
  });
  const result = ok(await new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY));
  assert.equal(result.rows, 10);
  assert.equal(result.attempts, 3);
  assert.equal(stub.calls(PATH), 3);
});

Deno.test("VisionClient gives up on persistent 5xx with HttpError", async () => {
  await using stub = serve(() => new Response("", { status: 502 }));
  await assert.rejects(
    new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY),
    (error) => error instanceof HttpError && error.status === 502,
  );
  assert.equal(stub.calls(PATH), 4);
});

Deno.test("VisionClient retries a checksum mismatch once: second matches", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 10 }));
  const wrong = "0".repeat(64) + "  BTCUSDT-1m-2024-01-01.zip\n";
  await using stub = serve((path, call) => {
    if (path.endsWith(".CHECKSUM")) return new Response(call === 1 ? wrong : file.checksum);
    return new Response(file.zip);
  });
  const result = ok(await new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY));
  assert.equal(result.attempts, 2);
  assert.equal(stub.calls(PATH), 2);
  assert.equal(stub.calls(PATH + ".CHECKSUM"), 2);
});

Deno.test("VisionClient throws ChecksumError after a second mismatch", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 10 }));
  const wrong = "ab".repeat(32) + "  BTCUSDT-1m-2024-01-01.zip";
  await using stub = serve((path) => new Response(path.endsWith(".CHECKSUM") ? wrong : file.zip));
  const progress: VisionProgress[] = [];
  const client = new VisionClient({
    baseUrl: stub.url,
    retry: FAST,
    onProgress: (p) => progress.push(p),
  });
  await assert.rejects(client.fetchFile(SPOT_DAY), (error) => {
    assert.ok(error instanceof ChecksumError);
    assert.equal(error.expected, "ab".repeat(32));
    assert.equal(error.actual, file.checksum.slice(0, 64));
    return true;
  });
  assert.equal(stub.calls(PATH), 2);
  assert.ok(progress.every((p) => !p.done));
});

Deno.test("VisionClient retries a malformed CHECKSUM file like a damaged transfer", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 10 }));
  await using stub = serve((path) =>
    new Response(path.endsWith(".CHECKSUM") ? "<html>oops</html>" : file.zip)
  );
  await assert.rejects(
    new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY),
    ChecksumError,
  );
  assert.equal(stub.calls(PATH + ".CHECKSUM"), FAST.attempts);
});

Deno.test("VisionClient throws a verified file's corrupt row with its line, unretried", async () => {
  const lines = klineCsv({ rows: 10 }).split("\n");
  lines[6] = "1704067560000,1,2,3";
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", lines.join("\n"));
  await using stub = serve(files({ [PATH]: file }));
  await assert.rejects(
    new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY),
    (error) => {
      assert.ok(error instanceof CsvFormatError);
      assert.equal(error.line, 7);
      assert.equal(error.file, "BTCUSDT-1m-2024-01-01.csv");
      return true;
    },
  );
  assert.equal(stub.calls(PATH), 1);
});

Deno.test("VisionClient throws a verified truncated zip as ZipFormatError, unretried", async () => {
  const whole = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 100 }));
  const zip = whole.zip.slice(0, Math.floor(whole.zip.length / 2));
  const file = { zip, checksum: `${await sha256Hex(zip)}  BTCUSDT-1m-2024-01-01.zip` };
  await using stub = serve(files({ [PATH]: file }));
  await assert.rejects(
    new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY),
    { name: "ZipFormatError", message: /truncated/ },
  );
  assert.equal(stub.calls(PATH), 1);
});

Deno.test("VisionClient retries a body cut short without Content-Length beyond one retry", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 100 }));
  const half = file.zip.slice(0, Math.floor(file.zip.length / 2));
  await using stub = serve((path, call) => {
    if (path.endsWith(".CHECKSUM")) return new Response(file.checksum);
    if (call <= 3) return new Response(ReadableStream.from([half])); // chunked, ends early
    return new Response(file.zip);
  });
  const result = ok(await new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchFile(SPOT_DAY));
  assert.equal(result.rows, 100);
  assert.equal(result.attempts, 4);
});

/**
 * A raw HTTP/1.1 server, for faults Deno.serve cannot produce: a body shorter
 * than its Content-Length, then the connection closed.
 */
function rawServer(answer: (path: string, call: number) => { body: Uint8Array; cut?: number }) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const calls = new Map<string, number>();
  const open = new Set<Deno.Conn>();
  const handle = async (conn: Deno.Conn) => {
    open.add(conn);
    try {
      const buf = new Uint8Array(8192);
      let text = "";
      while (!text.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      const path = text.split(" ")[1];
      const call = (calls.get(path) ?? 0) + 1;
      calls.set(path, call);
      const { body, cut = body.length } = answer(path, call);
      const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      await conn.write(enc.encode(head));
      if (cut > 0) await conn.write(body.subarray(0, cut));
    } catch {
      // the client went away
    } finally {
      open.delete(conn);
      conn.close();
    }
  };
  const loop = (async () => {
    const handlers: Promise<void>[] = [];
    try {
      for await (const conn of listener) handlers.push(handle(conn));
    } catch {
      // closed
    }
    await Promise.all(handlers);
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    calls: (path: string) => calls.get(path) ?? 0,
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop;
    },
  };
}

Deno.test("VisionClient retries a body cut short of its Content-Length, and a reset", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 300 }));
  await using raw = rawServer((path, call) => {
    if (path.endsWith(".CHECKSUM")) return { body: enc.encode(file.checksum) };
    if (call === 1) return { body: file.zip, cut: Math.floor(file.zip.length / 3) };
    if (call === 2) return { body: file.zip, cut: 0 };
    return { body: file.zip };
  });
  const result = ok(await new VisionClient({ baseUrl: raw.url, retry: FAST }).fetchFile(SPOT_DAY));
  assert.equal(result.rows, 300);
  assert.equal(result.attempts, 3);
  assert.equal(raw.calls(PATH), 3);
});

Deno.test("VisionClient gives up on repeated resets with NetworkError", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 300 }));
  await using raw = rawServer((path) =>
    path.endsWith(".CHECKSUM") ? { body: enc.encode(file.checksum) } : { body: file.zip, cut: 100 }
  );
  await assert.rejects(
    new VisionClient({ baseUrl: raw.url, retry: { ...FAST, attempts: 2 } }).fetchFile(SPOT_DAY),
    (error) => error instanceof NetworkError && error.url === raw.url + PATH,
  );
  assert.equal(raw.calls(PATH), 2);
});

/** A server whose zip body stops after its first chunk until released. */
function stallingServer(file: Archive) {
  const hold = Promise.withResolvers<void>();
  const { promise: started, resolve: onStarted } = Promise.withResolvers<void>();
  const stub = serve((path) => {
    if (path.endsWith(".CHECKSUM")) return new Response(file.checksum);
    const half = Math.floor(file.zip.length / 2);
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(file.zip.slice(0, half));
          onStarted();
          return;
        }
        await hold.promise;
        controller.enqueue(file.zip.slice(half));
        controller.close();
      },
    });
    return new Response(body);
  });
  return { ...stub, started, release: () => hold.resolve() };
}

Deno.test("VisionClient abort mid-download rejects with the reason and leaks nothing", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 5000 }));
  const server = stallingServer(file);
  await using _ = server;
  const controller = new AbortController();
  const reason = new DOMException("stop", "AbortError");
  const client = new VisionClient({
    baseUrl: server.url,
    onProgress: (p) => {
      if (p.bytes > 0) controller.abort(reason);
    },
  });
  await assert.rejects(
    client.fetchFile({ ...SPOT_DAY, signal: controller.signal }),
    (error) => error === reason,
  );
  server.release();
});

Deno.test("VisionClient times out a stalled body with NetworkError", async () => {
  const file = await archive("BTCUSDT-1m-2024-01-01.zip", klineCsv({ rows: 5000 }));
  const server = stallingServer(file);
  await using _ = server;
  const client = new VisionClient({ baseUrl: server.url, timeoutMs: 100, retry: { attempts: 1 } });
  await assert.rejects(client.fetchFile(SPOT_DAY), {
    name: "NetworkError",
    message: /no data for 100 ms/,
  });
  server.release();
});

Deno.test("VisionClient rejects an already aborted signal and misuse before any I/O", async () => {
  const client = new VisionClient({ baseUrl: "http://127.0.0.1:9" });
  const reason = new Error("early");
  await assert.rejects(
    client.fetchFile({ ...SPOT_DAY, signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  await assert.rejects(client.fetchFile({ ...SPOT_DAY, date: "2024-13-01" }), {
    code: "INVALID_TIME",
  });
  await assert.rejects(client.fetchFile({ ...SPOT_DAY, market: "um", interval: "1s" }), {
    code: "INVALID_INTERVAL",
  });
  assert.throws(() => new VisionClient({ concurrency: 0 }), RangeError);
});

function days(count: number): VisionFileRef[] {
  return Array.from({ length: count }, (_, i) => ({
    ...SPOT_DAY,
    interval: "1h" as const,
    date: new Date(DAY + i * 86_400_000).toISOString().slice(0, 10),
  }));
}

async function dayArchives(count: number): Promise<Record<string, Archive>> {
  const map: Record<string, Archive> = {};
  for (const ref of days(count)) {
    const name = `BTCUSDT-1h-${ref.date}.zip`;
    const start = Date.parse(ref.date);
    map[`/data/spot/daily/klines/BTCUSDT/1h/${name}`] = await archive(
      name,
      klineCsv({ start, stepMs: 3_600_000, rows: 24 }),
    );
  }
  return map;
}

Deno.test("VisionClient.fetchFiles keeps request order and bounds concurrency", async () => {
  const map = await dayArchives(8);
  delete map["/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01-04.zip"];
  const serveFile = files(map);
  let running = 0;
  let peak = 0;
  await using stub = serve(async (path, call, req) => {
    if (path.endsWith(".CHECKSUM")) return serveFile(path, call, req);
    peak = Math.max(peak, ++running);
    // the first file is the slowest, so that later ones finish first
    await new Promise((r) => setTimeout(r, path.includes("01-01") ? 30 : 3));
    running--;
    return serveFile(path, call, req);
  });
  const client = new VisionClient({ baseUrl: stub.url, concurrency: 3 });
  const results = await client.fetchFiles(days(8));
  assert.deepEqual(
    results.map((r) => r.url.slice(-14, -4)),
    days(8).map((d) => d.date),
  );
  assert.deepEqual(results.map((r) => r.status), [
    "ok",
    "ok",
    "ok",
    "missing",
    "ok",
    "ok",
    "ok",
    "ok",
  ]);
  for (const [i, r] of results.entries()) {
    if (r.status === "ok") assert.equal(column(r, "open_time")[0], DAY + i * 86_400_000);
  }
  assert.ok(peak <= 3, `peak ${peak}`);
});

Deno.test("VisionClient.streamFiles yields in order; leaving early cancels the rest", async () => {
  const map = await dayArchives(6);
  const server = serve(files(map));
  await using _ = server;
  const client = new VisionClient({ baseUrl: server.url, concurrency: 2 });
  const seen: string[] = [];
  for await (const result of client.streamFiles(days(6))) {
    seen.push(result.url.slice(-14, -4));
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen, ["2024-01-01", "2024-01-02"]);
  const all = await Array.fromAsync(client.streamFiles(days(6), { lookahead: 1 }));
  assert.equal(all.length, 6);
});

Deno.test("VisionClient.streamFiles: the first failure cancels the others and is thrown", async () => {
  const map = await dayArchives(6);
  const serveFile = files(map);
  const stall = Promise.withResolvers<void>();
  await using stub = serve(async (path, call, req) => {
    if (path.includes("01-03") && !path.endsWith(".CHECKSUM")) {
      return new Response("", { status: 400 });
    }
    if (path.includes("01-01") && !path.endsWith(".CHECKSUM")) await stall.promise;
    return serveFile(path, call, req);
  });
  const client = new VisionClient({ baseUrl: stub.url, concurrency: 4 });
  await assert.rejects(
    Array.fromAsync(client.streamFiles(days(6))),
    (error) => error instanceof HttpError && error.status === 400,
  );
  stall.resolve();
});

Deno.test("VisionClient.fetchFiles aborts every download on the signal", async () => {
  const map = await dayArchives(4);
  const serveFile = files(map);
  const stall = Promise.withResolvers<void>();
  const { promise: arrived, resolve: onArrive } = Promise.withResolvers<void>();
  await using stub = serve(async (path, call, req) => {
    if (!path.endsWith(".CHECKSUM")) {
      onArrive();
      await stall.promise;
    }
    return serveFile(path, call, req);
  });
  const controller = new AbortController();
  const client = new VisionClient({ baseUrl: stub.url, concurrency: 2 });
  const pending = client.fetchFiles(days(4), { signal: controller.signal });
  await arrived;
  const reason = new Error("user stop");
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  stall.resolve();
});

// ---- Against the emulator: every market, periods, intervals, formats and faults ----

const EMU_NOW = Date.UTC(2025, 5, 15, 12);
const REST_PATHS = { spot: "/api/v3/klines", um: "/fapi/v1/klines", cm: "/dapi/v1/klines" };

/** The emulator's REST rows for [start, end): an independent oracle of the same candles. */
async function restRows(base: string, ref: VisionFileRef, start: number, end: number) {
  const rows: (string | number)[][] = [];
  const interval = ref.interval === "1mo" as string ? "1M" : ref.interval;
  for (let from = start; from < end;) {
    const q = `symbol=${ref.symbol}&interval=${interval}&startTime=${from}&endTime=${
      end - 1
    }&limit=1000`;
    const page: (string | number)[][] = await (await fetch(`${base}${REST_PATHS[ref.market]}?${q}`))
      .json();
    if (page.length === 0) break;
    rows.push(...page);
    from = Number(page.at(-1)![0]) + 1;
  }
  return rows;
}

function periodRange(ref: VisionFileRef): [number, number] {
  if (ref.period === "daily") {
    const start = Date.parse(`${ref.date}T00:00:00Z`);
    return [start, start + 86_400_000];
  }
  const start = Date.parse(`${ref.date}-01T00:00:00Z`);
  const d = new Date(start);
  return [start, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)];
}

function assertSameAsRest(result: VisionFileOk, rest: (string | number)[][], label: string) {
  assert.equal(result.rows, rest.length, label);
  // the schema names the REST row's fields in Binance's order
  assert.equal(
    NAMES.join(),
    "open_time,open,high,low,close,volume,close_time,quote_asset_volume,count," +
      "taker_buy_volume,taker_buy_quote_volume",
  );
  const columns = NAMES.map((n) => column(result, n));
  for (let i = 0; i < rest.length; i++) {
    for (let c = 0; c < NAMES.length; c++) {
      const want = c === 8 ? BigInt(rest[i][c]) : Number(rest[i][c]);
      if (columns[c][i] !== want) {
        assert.fail(`${label}: row ${i} ${NAMES[c]} is ${columns[c][i]}, REST says ${want}`);
      }
    }
  }
}

const EMU_CASES: VisionFileRef[] = [
  { market: "spot", symbol: "BTCUSDT", interval: "1m", period: "daily", date: "2024-03-10" },
  { market: "spot", symbol: "BTCUSDT", interval: "1m", period: "daily", date: "2025-03-10" },
  { market: "spot", symbol: "ETHUSDT", interval: "1h", period: "monthly", date: "2025-01" },
  { market: "spot", symbol: "BTCUSDT", interval: "1M", period: "monthly", date: "2024-05" },
  { market: "spot", symbol: "BTCUSDT", interval: "1w", period: "monthly", date: "2024-05" },
  { market: "spot", symbol: "BTCUSDT", interval: "3d", period: "monthly", date: "2024-05" },
  { market: "um", symbol: "BTCUSDT", interval: "1h", period: "daily", date: "2021-05-01" },
  { market: "um", symbol: "BTCUSDT", interval: "5m", period: "daily", date: "2023-05-01" },
  { market: "um", symbol: "ETHUSDT", interval: "1d", period: "monthly", date: "2025-04" },
  { market: "cm", symbol: "BTCUSD_PERP", interval: "1h", period: "daily", date: "2020-08-20" },
  { market: "cm", symbol: "BTCUSD_PERP", interval: "15m", period: "daily", date: "2025-01-01" },
  { market: "cm", symbol: "BTCUSD_PERP", interval: "1M", period: "monthly", date: "2023-12" },
];

Deno.test("VisionClient matches the emulator's REST candles on every market and period", async () => {
  for (const dataDescriptor of [false, true]) {
    await using emu = await startEmulator({ now: EMU_NOW, dataDescriptor });
    const client = new VisionClient({ baseUrl: emu.url, listingUrl: emu.url, batchRows: 1000 });
    const results = await client.fetchFiles(EMU_CASES);
    for (const [i, ref] of EMU_CASES.entries()) {
      const label = `${ref.market} ${ref.symbol} ${ref.interval} ${ref.date} dd=${dataDescriptor}`;
      const result = ok(results[i]);
      const [start, end] = periodRange(ref);
      assertSameAsRest(result, await restRows(emu.url, ref, start, end), label);
      assert.ok(result.rows > 0, label);
    }
  }
});

Deno.test("VisionClient decodes a spot 1s µs day from the emulator", async () => {
  await using emu = await startEmulator({ now: EMU_NOW });
  const client = new VisionClient({ baseUrl: emu.url });
  const ref: VisionFileRef = { ...SPOT_DAY, interval: "1s", date: "2025-02-01" };
  const result = ok(await client.fetchFile(ref));
  assert.equal(result.rows, 86_400);
  // The day is one batch (its period bounds it), not 65,536 rows and the rest.
  assert.equal(result.batches.length, 1);
  // A decode pool's worker hashes and inflates it: the same rows, the same digest.
  using pool = new KlineDecodePool();
  const pooled = ok(await new VisionClient({ baseUrl: emu.url, decodePool: pool }).fetchFile(ref));
  assert.equal(pooled.sha256, result.sha256);
  assert.deepEqual(column(pooled, "close"), column(result, "close"));
  const open = column(result, "open_time");
  const close = column(result, "close_time");
  assert.equal(open[0], Date.UTC(2025, 1, 1));
  assert.equal(open[86_399], Date.UTC(2025, 1, 1, 23, 59, 59));
  assert.equal(close[86_399], Date.UTC(2025, 1, 2) - 1);
  const start = Date.UTC(2025, 1, 1, 12);
  const rest = await restRows(emu.url, ref, start, start + 1000 * 1000);
  const noon = open.indexOf(start);
  assert.equal(column(result, "close")[noon + 999], Number(rest[999][4]));
});

Deno.test("VisionClient keeps the batch size it is given for a day of 1s", async () => {
  await using emu = await startEmulator({ now: EMU_NOW });
  const client = new VisionClient({ baseUrl: emu.url, batchRows: 50_000 });
  const ref: VisionFileRef = { ...SPOT_DAY, interval: "1s", date: "2025-02-01" };
  const result = ok(await client.fetchFile(ref));
  assert.deepEqual(result.batches.map((b) => b.numRows), [50_000, 36_400]);
});

Deno.test("VisionClient against emulator faults: missing, 403, lag, partial, mismatch", async () => {
  const day = (date: string, symbol = "BTCUSDT"): VisionFileRef => ({
    market: "spot",
    symbol,
    interval: "1h",
    period: "daily",
    date,
  });
  await using emu = await startEmulator({
    now: EMU_NOW,
    missingStatus: 403,
    publicationLagDays: 3,
    missingFiles: ["BTCUSDT-1h-2024-02-02.zip"],
    partialFiles: ["BTCUSDT-1h-2024-02-03.zip"],
    checksumMismatch: ["BTCUSDT-1h-2024-02-04.zip"],
  });
  using pool = new KlineDecodePool();
  // Decoded while it arrives, and held whole for a decode pool (which checks the digest).
  for (const decodePool of [undefined, pool]) {
    const client = new VisionClient({ baseUrl: emu.url, retry: FAST, decodePool });
    assert.equal((await client.fetchFile(day("2024-02-02"))).status, "missing");
    assert.equal((await client.fetchFile(day("2025-06-13"))).status, "missing"); // not yet published
    assert.equal((await client.fetchFile(day("2016-01-01"))).status, "missing"); // before listing
    const partial = ok(await client.fetchFile(day("2024-02-03")));
    assert.ok(partial.rows > 0 && partial.rows < 24, `${partial.rows} rows`);
    const [start, end] = periodRange(day("2024-02-03"));
    const rest = await restRows(emu.url, day("2024-02-03"), start, end);
    assertSameAsRest(partial, rest.slice(0, partial.rows), "partial");
    emu.reset();
    await assert.rejects(client.fetchFile(day("2024-02-04")), ChecksumError);
    assert.equal(emu.stats.requests.vision, 2);
    assert.equal(emu.stats.requests.checksum, 2);
  }
});

Deno.test("VisionClient survives the emulator's 5xx, resets and truncations", async () => {
  const refs = days(20);
  {
    await using clean = await startEmulator({ now: EMU_NOW, seed: 7 });
    const want = await new VisionClient({ baseUrl: clean.url }).fetchFiles(refs);
    await using emu = await startEmulator({
      now: EMU_NOW,
      seed: 7,
      errorRate: 0.1,
      resetRate: 0.1,
      truncateRate: 0.1,
    });
    const client = new VisionClient({
      baseUrl: emu.url,
      concurrency: 4,
      retry: { attempts: 12, baseDelayMs: 1, maxDelayMs: 4 },
    });
    const got = await client.fetchFiles(refs);
    const faults = emu.stats.faults;
    assert.ok(
      faults.errors > 0 && faults.resets > 0 && faults.truncations > 0,
      JSON.stringify(faults),
    );
    for (const [i, result] of got.entries()) {
      const a = ok(result), b = ok(want[i]);
      assert.equal(a.sha256, b.sha256);
      assert.deepEqual(column(a, "close"), column(b, "close"));
    }
  }
});

Deno.test("VisionClient.fetchEventArchive returns a funding archive's CSV only once it is verified", async () => {
  const path = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip";
  const csv = "calc_time,funding_interval_hours,last_funding_rate\n1704067200001,8,0.00010000\n";
  const file = await archive("BTCUSDT-fundingRate-2024-01.zip", csv);
  const month = {
    market: "um",
    dataset: "fundingRate",
    symbol: "BTCUSDT",
    period: "monthly",
    date: "2024-01",
  } as const;
  {
    await using stub = serve(files({ [path]: file }));
    const got = await new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchEventArchive(month);
    assert.equal(got.status, "ok");
    if (got.status !== "ok") return;
    assert.equal(new TextDecoder().decode(got.csv), csv);
    assert.equal(got.sha256, file.checksum.slice(0, 64));
    assert.equal(got.bytes, file.zip.length);
    const missing = await new VisionClient({ baseUrl: stub.url, retry: FAST })
      .fetchEventArchive({ ...month, date: "2024-02" });
    assert.equal(missing.status, "missing");
  }
  {
    // Re-uploaded content: the checksum never matches; retried once, then an error, no bytes.
    const wrong = "0".repeat(64) + "  BTCUSDT-fundingRate-2024-01.zip\n";
    await using stub = serve((p) => new Response(p.endsWith(".CHECKSUM") ? wrong : file.zip));
    await assert.rejects(
      new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchEventArchive(month),
      ChecksumError,
    );
    assert.equal(stub.calls(path), 2);
  }
  {
    // A body cut short: retried, then a clear error.
    await using stub = serve((p) =>
      new Response(p.endsWith(".CHECKSUM") ? file.checksum : file.zip.slice(0, 40))
    );
    await assert.rejects(
      new VisionClient({ baseUrl: stub.url, retry: FAST }).fetchEventArchive(month),
      (e) => e instanceof ChecksumError,
    );
  }
  await assert.rejects(
    new VisionClient().fetchEventArchive({ ...month, period: "daily", date: "2024-01-01" }),
    /published monthly only/,
  );
});
