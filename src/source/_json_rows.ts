/**
 * What the REST page decoders that use `JSON.parse` share (funding rates,
 * aggTrades): the body as an array of rows, and one way to refuse a page.
 *
 * @module
 */
import { NetworkError } from "../core/errors.ts";

const decoder = new TextDecoder();

/**
 * A value as JSON text, cut to 40 characters (for messages).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { brief } from "./_json_rows.ts";
 * assert.equal(brief({ a: 1 }), '{"a":1}');
 * assert.equal(brief("x".repeat(50)).length, 41);
 * ```
 */
export function brief(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * Parses a page that must be a JSON array, and gives the decoder its way to
 * refuse the page (a `NetworkError`: a malformed answer is retried).
 *
 * @param bytes The body.
 * @param url The URL, for messages.
 * @param what What the page holds, e.g. `aggTrades`.
 * @returns The rows, and `fail`.
 * @throws {NetworkError} When the body is not JSON or not an array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonRows } from "./_json_rows.ts";
 * const { rows } = jsonRows(new TextEncoder().encode("[1,2]"), "u", "things");
 * assert.deepEqual(rows, [1, 2]);
 * assert.throws(() => jsonRows(new TextEncoder().encode("{}"), "u", "things"), {
 *   message: "Cannot decode things from u: expected an array of rows, got {}",
 * });
 * ```
 */
export function jsonRows(
  bytes: Uint8Array,
  url: string,
  what: string,
): { rows: unknown[]; fail: (why: string, cause?: unknown) => never } {
  const fail = (why: string, cause?: unknown): never => {
    throw new NetworkError(url, `Cannot decode ${what} from ${url}: ${why}`, { cause });
  };
  let rows: unknown;
  try {
    rows = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    fail(`the body is not JSON (${(error as Error).message})`, error);
  }
  if (!Array.isArray(rows)) return fail(`expected an array of rows, got ${brief(rows)}`);
  return { rows, fail };
}
