/**
 * Query parameter checks shared by the emulated REST endpoints, with
 * Binance's JSON errors (BINANCE.md section 2). Private to the emulator.
 *
 * @module
 */
import type { RestAnswer } from "./rest_klines.ts";

const TIME = /^\d{1,20}$/;
const LIMIT = /^\d{1,10}$/;
/** Binance's ASCII range, plus (spot, since 2025-12) letters and digits of any script. */
const SYMBOL = /^(?:[A-Z0-9_.\-]|(?!\p{ASCII})[\p{L}\p{N}\p{M}]){1,20}$/u;

/** A 400 answer with Binance's `{code, msg}` body. */
export function fail(code: number, msg: string, weight: number): RestAnswer {
  return { status: 400, body: JSON.stringify({ code, msg }), weight };
}

/** The -1102 answer for a missing parameter. */
export function mandatory(name: string, weight: number): RestAnswer {
  return fail(
    -1102,
    `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`,
    weight,
  );
}

/** The `limit` sent, `fallback` when absent, NaN when malformed. */
export function readLimit(query: URLSearchParams, fallback: number): number {
  const text = query.get("limit");
  return text === null ? fallback : LIMIT.test(text) ? Number(text) : NaN;
}

/** The -1100 answer for a malformed or out-of-range `limit`, if any. */
export function checkLimit(limit: number, max: number, weight: number): RestAnswer | undefined {
  if (Number.isNaN(limit)) {
    return fail(
      -1100,
      "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,10}$'.",
      weight,
    );
  }
  if (limit < 1 || limit > max) {
    return fail(
      -1100,
      `Illegal characters found in parameter 'limit'; legal range is '1 - ${max}'.`,
      weight,
    );
  }
  return undefined;
}

/** The -1100 answer for a symbol or pair with characters Binance refuses, if any. */
export function checkName(
  parameter: string,
  value: string,
  weight: number,
): RestAnswer | undefined {
  if (SYMBOL.test(value)) return undefined;
  return fail(
    -1100,
    `Illegal characters found in parameter '${parameter}'; legal range is '^[A-Z0-9-_.]{1,20}$'.`,
    weight,
  );
}

/** `startTime` and `endTime` (undefined when absent), or the -1100 / -1023 answer. */
export function readTimes(
  query: URLSearchParams,
  weight: number,
): [number | undefined, number | undefined] | RestAnswer {
  const times: (number | undefined)[] = [];
  for (const name of ["startTime", "endTime"]) {
    const text = query.get(name);
    if (text !== null && !TIME.test(text)) {
      return fail(
        -1100,
        `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`,
        weight,
      );
    }
    times.push(text === null ? undefined : Number(text));
  }
  const [start, end] = times;
  if (start !== undefined && end !== undefined && start > end) {
    return fail(-1023, "Start time is greater than end time.", weight);
  }
  return [start, end];
}

/** An id parameter such as `fromId` (undefined when absent), or the -1100 answer. */
export function readId(
  query: URLSearchParams,
  name: string,
  weight: number,
): number | undefined | RestAnswer {
  const text = query.get(name);
  if (text === null) return undefined;
  if (!TIME.test(text)) {
    return fail(
      -1100,
      `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`,
      weight,
    );
  }
  return Number(text);
}
