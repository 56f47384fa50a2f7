import assert from "node:assert/strict";
import { join } from "node:path";
import { allocKlineColumns, klineBatch } from "../../src/core/schema.ts";
import { decodeKlineIpcMetadata, encodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import { readHeadAndFooter, readWhole, setAside, writeAtomic } from "../../src/cache/_fs_io.ts";
import { tempDir } from "./_fixtures.ts";

const TIME = Date.UTC(2024, 5, 1);

function klineFile(rows: number): Uint8Array {
  const cols = allocKlineColumns(rows);
  for (let i = 0; i < rows; i++) cols.openTime[i] = Date.UTC(2024, 0, 1) + i * 60_000;
  return encodeKlineIpc([klineBatch(cols)], {
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1m",
    partition: "2024-01-01",
    source: "REST",
    writtenAt: 0,
  });
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("readWhole reads the bytes and size, without identity, or undefined when missing", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  assert.equal(await readWhole(path), undefined);
  const bytes = klineFile(5);
  await Deno.writeFile(path, bytes);
  const read = await readWhole(path);
  assert.ok(read);
  assert.deepEqual(read.bytes, bytes);
  assert.equal(read.size, bytes.length);
  assert.equal(read.identity, undefined);
  await Deno.writeFile(path, new Uint8Array(0));
  assert.deepEqual(await readWhole(path), { bytes: new Uint8Array(0), size: 0 });
});

Deno.test("readWhole rejects on errors other than a missing file", async () => {
  await using dir = await tempDir();
  await assert.rejects(readWhole(dir.path));
  await assert.rejects(readWhole(join(dir.path, "a\0b")));
});

Deno.test("readHeadAndFooter reads the head and footer with an identity", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  assert.equal(await readHeadAndFooter(path), undefined);
  const bytes = klineFile(500);
  await Deno.writeFile(path, bytes);
  const read = await readHeadAndFooter(path);
  assert.ok(read?.identity);
  assert.equal(read.size, bytes.length);
  assert.ok(read.bytes.length < bytes.length);
  assert.deepEqual(read.bytes.subarray(0, 8), bytes.subarray(0, 8));
  assert.deepEqual(read.bytes.subarray(8), bytes.subarray(bytes.length - read.bytes.length + 8));
  assert.equal(decodeKlineIpcMetadata(read.bytes).rows, 500);
  await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
  const small = await readHeadAndFooter(path);
  assert.deepEqual(small?.bytes, new Uint8Array([1, 2, 3]));
  assert.notEqual(small?.identity, read.identity);
});

Deno.test("setAside moves an unchanged whole read to {path}.corrupt-{time}", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  const bytes = klineFile(3);
  bytes[bytes.length - 1] = 0; // damaged magic
  await Deno.writeFile(path, bytes);
  const read = (await readWhole(path))!;
  const target = await setAside(path, read, TIME);
  assert.equal(target, `${path}.corrupt-${TIME}`);
  assert.deepEqual(await entries(dir.path), [`a.arrow.corrupt-${TIME}`]);
  assert.deepEqual(await Deno.readFile(target), bytes);
});

Deno.test("setAside leaves a file rewritten with other bytes after a whole read", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  const corrupt = new TextEncoder().encode("not arrow at all");
  await Deno.writeFile(path, corrupt);
  const read = (await readWhole(path))!;
  const sameLength = new TextEncoder().encode("not arrow at ALL");
  for (const replacement of [sameLength, klineFile(3), new Uint8Array(0)]) {
    await Deno.writeFile(path, replacement);
    assert.equal(await setAside(path, read, TIME), undefined);
    assert.deepEqual(await entries(dir.path), ["a.arrow"]);
    assert.deepEqual(await Deno.readFile(path), replacement);
  }
  // The same bytes again are the same corrupt file.
  await Deno.writeFile(path, corrupt);
  assert.equal(await setAside(path, read, TIME), `${path}.corrupt-${TIME}`);
});

Deno.test("setAside returns undefined when the file is gone", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
  const whole = (await readWhole(path))!;
  const footer = (await readHeadAndFooter(path))!;
  await Deno.remove(path);
  assert.equal(await setAside(path, whole, TIME), undefined);
  assert.equal(await setAside(path, footer, TIME), undefined);
  assert.deepEqual(await entries(dir.path), []);
});

Deno.test("setAside compares identities for footer reads", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  const bytes = klineFile(200);
  await Deno.writeFile(path, bytes);
  const read = (await readHeadAndFooter(path))!;
  // A new file renamed over the old one: another inode, so another identity.
  assert.ok(await writeAtomic(path, klineFile(100), () => Promise.resolve(true)));
  assert.equal(await setAside(path, read, TIME), undefined);
  assert.deepEqual(await entries(dir.path), ["a.arrow"]);
  const again = (await readHeadAndFooter(path))!;
  assert.equal(await setAside(path, again, TIME + 1), `${path}.corrupt-${TIME + 1}`);
  assert.deepEqual(await entries(dir.path), [`a.arrow.corrupt-${TIME + 1}`]);
  assert.deepEqual(await Deno.readFile(`${path}.corrupt-${TIME + 1}`), klineFile(100));
});

Deno.test("writeAtomic replaces the file, or leaves it and no temporary file when dropped", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.arrow");
  assert.ok(await writeAtomic(path, new Uint8Array([1]), () => Promise.resolve(true)));
  assert.equal(await writeAtomic(path, new Uint8Array([2]), () => Promise.resolve(false)), false);
  assert.deepEqual(await Deno.readFile(path), new Uint8Array([1]));
  await assert.rejects(
    writeAtomic(path, new Uint8Array([3]), () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  assert.deepEqual(await Deno.readFile(path), new Uint8Array([1]));
  assert.deepEqual(await entries(dir.path), ["a.arrow"]);
});
