import assert from "node:assert/strict";
import { ChecksumError } from "../../src/core/errors.ts";
import { parseChecksumFile, verifyChecksum } from "../../src/codec/checksum.ts";

const DIGEST = "2f79af36e0ab40e450368ff23a8970072bf205f01ee2af460268177068e4bc98";
const NAME = "BTCUSDT-1m-2025-04-11.zip";
const SAMPLE = `${DIGEST}  ${NAME}`;

Deno.test("parseChecksumFile reads the Vision sample with and without a final newline", () => {
  for (const text of [SAMPLE, `${SAMPLE}\n`, `${SAMPLE}\r\n`, `\uFEFF${SAMPLE}\n\n`]) {
    assert.equal(parseChecksumFile(text, NAME), DIGEST);
    assert.equal(parseChecksumFile(text), DIGEST);
  }
});

Deno.test("parseChecksumFile lowercases the digest and accepts sha256sum variants", () => {
  assert.equal(parseChecksumFile(`${DIGEST.toUpperCase()}  ${NAME}`), DIGEST);
  assert.equal(parseChecksumFile(`${DIGEST} *${NAME}`, NAME), DIGEST);
  assert.equal(parseChecksumFile(`${DIGEST} ${NAME}`, NAME), DIGEST);
});

Deno.test("parseChecksumFile compares the name with the last segment of a path or URL", () => {
  const url = `https://data.binance.vision/data/spot/daily/klines/BTCUSDT/1m/${NAME}`;
  assert.equal(parseChecksumFile(SAMPLE, url), DIGEST);
  assert.equal(parseChecksumFile(SAMPLE, `/tmp/x/${NAME}`), DIGEST);
});

function rejects(text: string, pattern: RegExp, expectedFile?: string): void {
  assert.throws(() => parseChecksumFile(text, expectedFile), (err: unknown) => {
    assert.ok(err instanceof ChecksumError);
    assert.equal(err.code, "CHECKSUM_MISMATCH");
    assert.match(err.message, pattern);
    assert.equal(err.actual, "");
    return true;
  });
}

Deno.test("parseChecksumFile rejects malformed files with ChecksumError", () => {
  rejects("", /Cannot use the checksum file of "a.zip": it is empty/, "a.zip");
  rejects("\n", /it is empty/);
  rejects(`${DIGEST.slice(1)}  ${NAME}`, /expected "<64 hex digits> {2}<file name>"/);
  rejects(`${DIGEST.slice(0, 63)}g  ${NAME}`, /expected "<64 hex/);
  rejects(`${DIGEST}0  ${NAME}`, /expected "<64 hex/);
  rejects(DIGEST, /expected "<64 hex/);
  rejects(`${DIGEST}  `, /expected "<64 hex/);
  rejects(`${SAMPLE}\n${SAMPLE}\n`, /more than one line/);
  rejects("<html><body>403 Forbidden</body></html>", /got "<html><body>403 Forbidden/);
});

Deno.test("parseChecksumFile rejects a checksum of another file", () => {
  rejects(
    SAMPLE,
    /of "ETHUSDT-1m-2025-04-11.zip": it names "BTCUSDT-1m-2025-04-11.zip"/,
    "ETHUSDT-1m-2025-04-11.zip",
  );
});

Deno.test("verifyChecksum accepts equal digests in any case and rejects others", () => {
  verifyChecksum(NAME, DIGEST, DIGEST.toUpperCase());
  const other = DIGEST.replace(/.$/, "9");
  assert.throws(() => verifyChecksum(NAME, DIGEST, other), (err: unknown) => {
    assert.ok(err instanceof ChecksumError);
    assert.equal(err.file, NAME);
    assert.equal(err.expected, DIGEST);
    assert.equal(err.actual, other);
    assert.equal(err.message, `Checksum mismatch for "${NAME}": expected ${DIGEST}, got ${other}`);
    return true;
  });
});
