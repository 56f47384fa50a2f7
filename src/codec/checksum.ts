/**
 * Binance Vision `.CHECKSUM` files: parsing and verification.
 *
 * @module
 */

import { ChecksumError } from "../core/errors.ts";

const LINE = /^([0-9a-fA-F]{64}) [ *]?(\S(?:.*\S)?)$/;

/**
 * Reads the SHA-256 from a Vision `.CHECKSUM` file, whose one line is
 * `<64 hex digits><two spaces><zip file name>` (sha256sum format; one space
 * or `*` before the name is accepted too), with or without a final newline,
 * LF or CRLF.
 *
 * @param text The file's text.
 * @param expectedFile The zip file name it must name; a path or URL is
 * reduced to its last segment. Omit to accept any name.
 * @returns The digest in lowercase hex.
 * @throws {ChecksumError} If the text is not one checksum line, or names
 * another file. The error's `file` is `expectedFile` (or the name found),
 * its `expected` the offending text (at most 100 characters), its `actual` "".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseChecksumFile } from "./checksum.ts";
 * const text =
 *   "2f79af36e0ab40e450368ff23a8970072bf205f01ee2af460268177068e4bc98  BTCUSDT-1m-2025-04-11.zip";
 * assert.equal(
 *   parseChecksumFile(text, "BTCUSDT-1m-2025-04-11.zip"),
 *   "2f79af36e0ab40e450368ff23a8970072bf205f01ee2af460268177068e4bc98",
 * );
 * ```
 */
export function parseChecksumFile(text: string, expectedFile?: string): string {
  const wanted = expectedFile === undefined ? undefined : baseName(expectedFile);
  const line = text.replace(/^\uFEFF/, "").replace(/[\r\n\t ]+$/, "");
  const match = LINE.exec(line);
  if (!match) {
    const why = line === ""
      ? "it is empty"
      : line.includes("\n")
      ? "it holds more than one line"
      : 'expected "<64 hex digits>  <file name>"';
    throw malformed(wanted ?? "", line, `${why}, got "${line.slice(0, 100)}"`);
  }
  const [, digest, name] = match;
  if (wanted !== undefined && name !== wanted) {
    throw malformed(wanted, line, `it names "${name}"`);
  }
  return digest.toLowerCase();
}

/**
 * Checks a computed SHA-256 against the expected one (case-insensitive).
 *
 * @param file File name or URL of the archive, for the error.
 * @param expected The digest from the `.CHECKSUM` file.
 * @param actual The digest of the downloaded bytes.
 * @throws {ChecksumError} If the digests differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChecksumError } from "../core/errors.ts";
 * import { verifyChecksum } from "./checksum.ts";
 * verifyChecksum("a.zip", "ABCD", "abcd");
 * assert.throws(() => verifyChecksum("a.zip", "abcd", "abce"), ChecksumError);
 * ```
 */
export function verifyChecksum(file: string, expected: string, actual: string): void {
  if (expected.toLowerCase() !== actual.toLowerCase()) {
    throw new ChecksumError(file, expected, actual);
  }
}

function baseName(path: string): string {
  const bare = path.replace(/[?#].*$/, "");
  return bare.slice(bare.lastIndexOf("/") + 1);
}

/** A {@linkcode ChecksumError} for an unusable `.CHECKSUM` file. */
function malformed(file: string, text: string, why: string): ChecksumError {
  const err = new ChecksumError(file, text.slice(0, 100), "");
  const subject = file === "" ? "a checksum file" : `the checksum file of "${file}"`;
  err.message = `Cannot use ${subject}: ${why}`;
  return err;
}
