/**
 * An edge function (Deno Deploy, `deno serve`) that answers
 * `GET /klines?market=&symbol=&interval=&start=&end=&format=arrow|json|csv`
 * with Binance klines, streamed as they arrive: Arrow IPC record batches
 * (`application/vnd.apache.arrow.stream`), a JSON array of row objects, or
 * CSV. It needs only `--allow-net`: there is no cache, and the endpoints are
 * read from `DSM_VISION_URL`, `DSM_LISTING_URL` and `DSM_REST_URL` only where
 * `--allow-env` is already granted (never prompting).
 *
 * Run: `deno serve --allow-net examples/edge.ts`, then
 * `curl 'http://localhost:8000/klines?symbol=BTCUSDT&interval=1h&start=2024-01-01&end=2024-01-02&format=csv'`.
 *
 * Answers: 200 with the rows; 400 `{ code, message }` for a bad request
 * (unknown market, symbol, interval, time, range or format); 404 / 405 for
 * other paths and methods; 502 `{ code, message }` when the sources fail
 * before the first row. A failure after the first row aborts the body, so a
 * truncated answer is never mistaken for a complete one.
 *
 * @module
 */
import { type RecordBatch, RecordBatchStreamWriter, type Schema, Table } from "apache-arrow";
import {
  DataSourceManager,
  type Endpoints,
  KLINE_SCHEMA_WITH_SOURCE,
  type KlineRequest,
} from "../mod.ts";

/** Options of {@linkcode createHandler}. */
export interface EdgeHandlerOptions {
  /**
   * Source base URLs.
   * @default {`DSM_VISION_URL`, `DSM_LISTING_URL`, `DSM_REST_URL` where env access is granted, else Binance's}
   */
  endpoints?: Endpoints;
  /** The fetch implementation. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
}

const FORMATS = ["arrow", "json", "csv"] as const;
type Format = typeof FORMATS[number];
const CONTENT_TYPES: Record<Format, string> = {
  arrow: "application/vnd.apache.arrow.stream",
  json: "application/json; charset=utf-8",
  csv: "text/csv; charset=utf-8",
};
const encoder = new TextEncoder();

/** An environment variable, only where reading it is already allowed. */
function grantedEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The endpoints from `DSM_VISION_URL`, `DSM_LISTING_URL` (else the Vision
 * URL) and `DSM_REST_URL`, read only where env access is already granted.
 *
 * @returns The endpoints found; empty without `--allow-env`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { endpointsFromEnv } from "./edge.ts";
 * assert.equal(typeof endpointsFromEnv(), "object");
 * ```
 */
export function endpointsFromEnv(): Endpoints {
  const vision = grantedEnv("DSM_VISION_URL");
  const listing = grantedEnv("DSM_LISTING_URL") ?? vision;
  const rest = grantedEnv("DSM_REST_URL");
  return {
    ...(vision ? { vision } : {}),
    ...(listing ? { listing } : {}),
    ...(rest ? { rest } : {}),
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": CONTENT_TYPES.json },
  });
}

function errorBody(error: unknown, fallback: string) {
  const code = (error as { code?: unknown })?.code;
  return {
    code: typeof code === "string" ? code : fallback,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Text cells of a batch's columns: numbers as `String(x)` (exact), the source as text. */
function cellsOf(batch: RecordBatch): ((row: number) => string)[] {
  return batch.schema.fields.map((field, i) => {
    const vector = batch.getChildAt(i)!;
    if (String(field.type).startsWith("Dictionary")) return (row) => String(vector.get(row));
    const values = vector.data.length === 1 ? vector.data[0].values : vector.toArray();
    return (row) => String(values[row]);
  });
}

function csvText(batch: RecordBatch): string {
  const cells = cellsOf(batch);
  let text = "";
  for (let row = 0; row < batch.numRows; row++) {
    text += cells.map((cell) => cell(row)).join(",") + "\n";
  }
  return text;
}

function jsonText(batch: RecordBatch, first: boolean): string {
  const cells = cellsOf(batch);
  const keys = batch.schema.fields.map((f) => JSON.stringify(f.name));
  const quoted = batch.schema.fields.map((f) => String(f.type).startsWith("Dictionary"));
  let text = "";
  for (let row = 0; row < batch.numRows; row++) {
    const pairs = cells.map((cell, c) => {
      const value = cell(row);
      return `${keys[c]}:${quoted[c] ? JSON.stringify(value) : value}`;
    });
    text += (first && row === 0 ? "\n" : ",\n") + `{${pairs.join(",")}}`;
  }
  return text;
}

/** The next batch, starting with one already read. */
function batchesFrom(
  first: RecordBatch | undefined,
  reader: ReadableStreamDefaultReader<RecordBatch>,
) {
  let pending = first;
  return async (): Promise<RecordBatch | undefined> => {
    if (pending) {
      const batch = pending;
      pending = undefined;
      return batch;
    }
    const { value, done } = await reader.read();
    return done ? undefined : value;
  };
}

/** CSV or a JSON array: one batch of text per pull. */
function textBody(
  format: "json" | "csv",
  schema: Schema,
  next: () => Promise<RecordBatch | undefined>,
  cancel: (reason: unknown) => Promise<void>,
): ReadableStream<Uint8Array> {
  let first = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const head = format === "csv" ? schema.fields.map((f) => f.name).join(",") + "\n" : "[";
      controller.enqueue(encoder.encode(head));
    },
    async pull(controller) {
      const batch = await next();
      if (batch === undefined) {
        if (format === "json") controller.enqueue(encoder.encode(first ? "]\n" : "\n]\n"));
        controller.close();
        return;
      }
      const text = format === "csv" ? csvText(batch) : jsonText(batch, first);
      first &&= batch.numRows === 0;
      controller.enqueue(encoder.encode(text));
    },
    cancel,
  }, { highWaterMark: 0 });
}

/**
 * Arrow IPC stream: each pull hands one batch to a `RecordBatchStreamWriter`
 * whose bytes are forwarded as they are produced; the body's queue bounds
 * how far the fetch runs ahead of the client.
 */
function arrowBody(
  schema: Schema,
  next: () => Promise<RecordBatch | undefined>,
  cancel: (reason: unknown) => Promise<void>,
): ReadableStream<Uint8Array> {
  const writer = new RecordBatchStreamWriter();
  let any = false;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      (async () => {
        for await (const chunk of writer) controller.enqueue(chunk);
        controller.close();
      })().catch(() => {}); // errors and cancellation are handled by pull and cancel
    },
    async pull(controller) {
      if (finished) return;
      try {
        const batch = await next();
        if (batch === undefined) {
          finished = true;
          if (!any) writer.write(new Table(schema));
          writer.close();
        } else {
          any = true;
          writer.write(batch);
        }
      } catch (error) {
        finished = true;
        controller.error(error);
        writer.abort(error);
      }
    },
    async cancel(reason) {
      finished = true;
      writer.abort(reason);
      await cancel(reason);
    },
  }, { highWaterMark: 4 });
}

function parseQuery(url: URL): { request: KlineRequest; format: Format } {
  const q = (name: string) => url.searchParams.get(name) ?? undefined;
  const format = q("format") ?? "arrow";
  if (!(FORMATS as readonly string[]).includes(format)) {
    const error = new RangeError(
      `Cannot answer: format "${format}" is not one of ${FORMATS.join(", ")}`,
    );
    throw Object.assign(error, { code: "INVALID_FORMAT" });
  }
  const request = {
    market: q("market") ?? "spot",
    symbol: q("symbol"),
    interval: q("interval"),
    start: q("start"),
    end: q("end"),
    strict: true,
  } as KlineRequest;
  return { request, format: format as Format };
}

/**
 * Creates the request handler.
 *
 * @param options Endpoints, fetch and clock; by default Binance (or the
 *   environment's endpoints where env access is granted).
 * @returns A handler for `Deno.serve` or `export default { fetch }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHandler } from "./edge.ts";
 * const handler = createHandler();
 * const res = await handler(new Request("http://x/klines?symbol=BTC/USDT&interval=1h"));
 * assert.equal(res.status, 400);
 * assert.equal((await res.json()).code, "INVALID_SYMBOL");
 * ```
 */
export function createHandler(
  options: EdgeHandlerOptions = {},
): (request: Request) => Promise<Response> {
  let dsm: DataSourceManager | undefined;
  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname !== "/klines") {
      return json(404, { code: "NOT_FOUND", message: `Cannot find "${url.pathname}"` });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return json(405, { code: "METHOD_NOT_ALLOWED", message: `Cannot ${req.method} /klines` });
    }
    dsm ??= new DataSourceManager({
      cache: false,
      endpoints: options.endpoints ?? endpointsFromEnv(),
      fetch: options.fetch,
      now: options.now,
    });
    let format: Format;
    let batches: ReadableStream<RecordBatch>;
    try {
      const parsed = parseQuery(url);
      format = parsed.format;
      batches = dsm.stream(parsed.request, { signal: req.signal });
    } catch (error) {
      return json(400, errorBody(error, "INVALID_REQUEST"));
    }
    const reader = batches.getReader();
    let first: RecordBatch | undefined;
    try {
      const read = await reader.read();
      first = read.done ? undefined : read.value;
    } catch (error) {
      return json(502, errorBody(error, "UPSTREAM_ERROR"));
    }
    const schema = first?.schema ?? KLINE_SCHEMA_WITH_SOURCE;
    const next = batchesFrom(first, reader);
    const cancel = (reason: unknown) => reader.cancel(reason);
    const body = format === "arrow"
      ? arrowBody(schema, next, cancel)
      : textBody(format, schema, next, cancel);
    return new Response(body, {
      headers: { "content-type": CONTENT_TYPES[format] },
    });
  };
}

/** The handler for `deno serve` and Deno Deploy. */
export default { fetch: createHandler() } satisfies Deno.ServeDefaultExport;
