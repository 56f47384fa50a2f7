import assert from "node:assert/strict";
import {
  CacheError,
  ChecksumError,
  CsvFormatError,
  DataNotAvailableError,
  DsmError,
  HttpError,
  InvalidRangeError,
  NetworkError,
  RateLimitError,
  ZipFormatError,
} from "../../src/core/errors.ts";

Deno.test("every DsmError has its name, stable code and chained cause", () => {
  const cause = new Error("root");
  const errors: [DsmError, string, string][] = [
    [new HttpError(400, "u", { cause }), "HttpError", "HTTP_ERROR"],
    [new RateLimitError(429, "u", 1000, { cause }), "RateLimitError", "RATE_LIMITED"],
    [new NetworkError("u", "reset", { cause }), "NetworkError", "NETWORK_ERROR"],
    [new ChecksumError("f", "a", "b", { cause }), "ChecksumError", "CHECKSUM_MISMATCH"],
    [new ZipFormatError("bad", "f", { cause }), "ZipFormatError", "ZIP_FORMAT"],
    [new CsvFormatError("bad", "f", 3, { cause }), "CsvFormatError", "CSV_FORMAT"],
    [new CacheError("bad", "/p", { cause }), "CacheError", "CACHE_ERROR"],
    [new DataNotAvailableError("none", { cause }), "DataNotAvailableError", "DATA_NOT_AVAILABLE"],
  ];
  for (const [error, name, code] of errors) {
    assert.equal(error.name, name);
    assert.equal(error.code, code);
    assert.equal(error.cause, cause);
    assert.ok(error instanceof DsmError && error instanceof Error);
    assert.ok(!error.message.endsWith("."), error.message);
  }
});

Deno.test("HttpError carries Binance's code and msg in its fields and message", () => {
  const e = new HttpError(400, "https://api.binance.com/api/v3/klines", {
    binanceCode: -1121,
    binanceMsg: "Invalid symbol.",
  });
  assert.equal(e.status, 400);
  assert.equal(e.binanceCode, -1121);
  assert.match(e.message, /HTTP 400: Binance code -1121 "Invalid symbol\."/);
});

Deno.test("RateLimitError tells a ban from a rate limit", () => {
  assert.match(new RateLimitError(418, "u", 120_000).message, /banned.*retry after 120000 ms/);
  assert.match(new RateLimitError(429, "u").message, /rate limited/);
});

Deno.test("CsvFormatError and ChecksumError name the file and line", () => {
  assert.match(new CsvFormatError("Bad number", "a.csv", 17).message, /"a\.csv" line 17/);
  assert.match(new ChecksumError("a.zip", "00", "11").message, /"a\.zip".*00.*11/);
  const r = new InvalidRangeError("start after end");
  assert.ok(r instanceof RangeError);
  assert.equal(r.code, "INVALID_RANGE");
});
