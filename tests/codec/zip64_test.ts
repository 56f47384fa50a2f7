import assert from "node:assert/strict";
import { crc32, deflateRawSync } from "node:zlib";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";
import { ZipFormatError } from "../../src/core/errors.ts";
import { unzipSingleEntry, UnzipStream } from "../../src/codec/unzip_stream.ts";

const encoder = new TextEncoder();
const CSV = encoder.encode(
  Array.from({ length: 3000 }, (_, i) => `${i},1704067200000,42000.${i % 97},0.5,true`).join("\n"),
);

function source(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + chunkSize));
      at += chunkSize;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function unzip(bytes: Uint8Array, chunkSize = 65536): Promise<Uint8Array> {
  return collect(source(bytes, chunkSize).pipeThrough(new UnzipStream({ file: "t.zip" })));
}

async function rejectsZip(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ZipFormatError, `not a ZipFormatError: ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Both paths (streamed in small and big chunks, whole buffer) reject `zip` with `pattern`. */
async function rejectedEverywhere(zip: Uint8Array, pattern: RegExp): Promise<void> {
  await rejectsZip(unzip(zip, 7), pattern);
  await rejectsZip(unzip(zip), pattern);
  await rejectsZip(unzipSingleEntry(zip), pattern);
}

interface Zip64Options {
  method?: 0 | 8;
  /** Sizes in a data descriptor with 8-byte sizes. */
  descriptor?: boolean;
  /** Descriptor signature. */
  signature?: boolean;
  /** Also saturate the central record's local header offset (Zip64 extra field holds it). */
  zip64Offset?: boolean;
}

/** Byte offsets of the records of a hand-built Zip64 archive. */
interface Zip64Layout {
  zip: Uint8Array<ArrayBuffer>;
  view: DataView;
  localExtra: number;
  data: number;
  descriptor: number;
  central: number;
  centralExtra: number;
  zip64End: number;
  locator: number;
  end: number;
}

/**
 * A single-entry Zip64 archive written field by field (APPNOTE 4.3.7-4.3.16,
 * 4.5.3): local and central sizes 0xffffffff, sizes in Zip64 extra fields,
 * an optional data descriptor with 8-byte sizes, the Zip64 end record, its
 * locator and an end record whose fields are all saturated.
 */
function zip64Archive(data: Uint8Array, options: Zip64Options = {}): Zip64Layout {
  const method = options.method ?? 8;
  const descriptor = options.descriptor ?? false;
  const signature = options.signature ?? true;
  const name = encoder.encode("a.csv");
  const packed = method === 8 ? new Uint8Array(deflateRawSync(data)) : data;
  const crc = crc32(data);
  const extraOf = (values: number[]) => {
    const b = new Uint8Array(4 + 8 * values.length);
    const v = new DataView(b.buffer);
    v.setUint16(0, 1, true);
    v.setUint16(2, 8 * values.length, true);
    values.forEach((x, i) => v.setBigUint64(4 + 8 * i, BigInt(x), true));
    return b;
  };
  const localExtra = extraOf(descriptor ? [0, 0] : [data.length, packed.length]);
  const centralExtra = extraOf(
    options.zip64Offset ? [data.length, packed.length, 0] : [data.length, packed.length],
  );
  const descriptorLength = descriptor ? (signature ? 24 : 20) : 0;
  const l = {
    localExtra: 30 + name.length,
    data: 30 + name.length + localExtra.length,
  } as Zip64Layout;
  l.descriptor = l.data + packed.length;
  l.central = l.descriptor + descriptorLength;
  l.centralExtra = l.central + 46 + name.length;
  l.zip64End = l.centralExtra + centralExtra.length;
  l.locator = l.zip64End + 56;
  l.end = l.locator + 20;
  const zip = new Uint8Array(l.end + 22);
  const v = new DataView(zip.buffer);
  l.zip = zip;
  l.view = v;
  // Local file header.
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, 45, true);
  v.setUint16(6, descriptor ? 8 : 0, true);
  v.setUint16(8, method, true);
  v.setUint32(14, descriptor ? 0 : crc, true);
  v.setUint32(18, 0xffffffff, true);
  v.setUint32(22, 0xffffffff, true);
  v.setUint16(26, name.length, true);
  v.setUint16(28, localExtra.length, true);
  zip.set(name, 30);
  zip.set(localExtra, l.localExtra);
  zip.set(packed, l.data);
  // Data descriptor.
  if (descriptor) {
    const at = signature ? l.descriptor + 4 : l.descriptor;
    if (signature) v.setUint32(l.descriptor, 0x08074b50, true);
    v.setUint32(at, crc, true);
    v.setBigUint64(at + 4, BigInt(packed.length), true);
    v.setBigUint64(at + 12, BigInt(data.length), true);
  }
  // Central directory record.
  const c = l.central;
  v.setUint32(c, 0x02014b50, true);
  v.setUint16(c + 4, 45, true);
  v.setUint16(c + 6, 45, true);
  v.setUint16(c + 8, descriptor ? 8 : 0, true);
  v.setUint16(c + 10, method, true);
  v.setUint32(c + 16, crc, true);
  v.setUint32(c + 20, 0xffffffff, true);
  v.setUint32(c + 24, 0xffffffff, true);
  v.setUint16(c + 28, name.length, true);
  v.setUint16(c + 30, centralExtra.length, true);
  v.setUint32(c + 42, options.zip64Offset ? 0xffffffff : 0, true);
  zip.set(name, c + 46);
  zip.set(centralExtra, l.centralExtra);
  // Zip64 end of central directory record and locator.
  const z = l.zip64End;
  v.setUint32(z, 0x06064b50, true);
  v.setBigUint64(z + 4, 44n, true);
  v.setUint16(z + 12, 45, true);
  v.setUint16(z + 14, 45, true);
  v.setBigUint64(z + 24, 1n, true);
  v.setBigUint64(z + 32, 1n, true);
  v.setBigUint64(z + 40, BigInt(l.zip64End - l.central), true);
  v.setBigUint64(z + 48, BigInt(l.central), true);
  v.setUint32(l.locator, 0x07064b50, true);
  v.setBigUint64(l.locator + 8, BigInt(l.zip64End), true);
  v.setUint32(l.locator + 16, 1, true);
  // End of central directory record, every field deferring to the Zip64 one.
  v.setUint32(l.end, 0x06054b50, true);
  zip.fill(0xff, l.end + 4, l.end + 20);
  return l;
}

/** zip.js's own Zip64 archive (`zip64: true`), as the emulator writes trade archives. */
async function zipJs64(data: Uint8Array, dataDescriptor: boolean, method: 0 | 8) {
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    useWebWorkers: false,
    extendedTimestamp: false,
    dataDescriptor,
    dataDescriptorSignature: true,
    zip64: true,
    compressionMethod: method,
  });
  await writer.add("a.csv", new Uint8ArrayReader(data));
  return await writer.close();
}

const LAYOUTS: [string, Zip64Options][] = [
  ["local sizes, deflate", {}],
  ["local sizes, store", { method: 0 }],
  ["local sizes, offset in the extra field", { zip64Offset: true }],
  ["data descriptor, deflate", { descriptor: true }],
  ["data descriptor, store", { descriptor: true, method: 0 }],
  ["data descriptor without signature", { descriptor: true, signature: false }],
];

for (const [label, options] of LAYOUTS) {
  Deno.test(`UnzipStream reads a Zip64 archive (${label}) in 1-byte, odd and big chunks`, async () => {
    const { zip } = zip64Archive(CSV, options);
    for (const chunk of [1, 7, 4096, 1 << 20]) assert.deepEqual(await unzip(zip, chunk), CSV);
    assert.deepEqual(await unzipSingleEntry(zip), CSV);
    const { zip: empty } = zip64Archive(new Uint8Array(0), options);
    assert.deepEqual(await unzip(empty, 1), new Uint8Array(0));
    assert.deepEqual(await unzipSingleEntry(empty), new Uint8Array(0));
  });

  Deno.test(`UnzipStream rejects a Zip64 archive truncated at any byte (${label})`, async () => {
    const { zip } = zip64Archive(CSV.subarray(0, 300), options);
    for (let cut = 0; cut < zip.length; cut++) {
      const part = zip.slice(0, cut);
      await rejectsZip(unzip(part, 1), /truncated|empty/);
      await rejectsZip(unzip(part), /truncated|empty/);
      await rejectsZip(unzipSingleEntry(part), /truncated|empty/);
    }
  });
}

for (const dataDescriptor of [false, true]) {
  for (const method of [8, 0] as const) {
    Deno.test(`UnzipStream reads zip.js's Zip64 archives (data descriptor ${dataDescriptor}, method ${method})`, async () => {
      const zip = await zipJs64(CSV, dataDescriptor, method);
      assert.deepEqual(await unzip(zip, 1), CSV);
      assert.deepEqual(await unzip(zip), CSV);
      assert.deepEqual(await unzipSingleEntry(zip), CSV);
    });
  }
}

Deno.test("UnzipStream streams a data descriptor archive bigger than what it holds back", async () => {
  // 8 MiB of stored data: most of it must pass before the archive ends.
  const data = new Uint8Array(8 << 20);
  for (let at = 0; at < data.length; at += 65536) {
    crypto.getRandomValues(data.subarray(at, at + 65536));
  }
  for (const options of [{ descriptor: true, method: 0 }, { descriptor: true }] as Zip64Options[]) {
    const { zip } = zip64Archive(data, options);
    let fed = 0;
    let firstOutputAt = -1;
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (fed >= zip.length) return controller.close();
        controller.enqueue(zip.subarray(fed, fed + 65536));
        fed += 65536;
      },
    }, { highWaterMark: 0 });
    const parts: Uint8Array[] = [];
    for await (const part of input.pipeThrough(new UnzipStream())) {
      if (firstOutputAt < 0) firstOutputAt = fed;
      parts.push(part);
    }
    assert.ok(firstOutputAt < zip.length / 2, `first output after ${firstOutputAt} bytes`);
    assert.deepEqual(await collect(ReadableStream.from(parts)), data);
  }
});

Deno.test("UnzipStream rejects Zip64 extra fields that are missing, truncated or duplicated", async () => {
  for (const descriptor of [false, true]) {
    const l = zip64Archive(CSV, { descriptor });
    // The central record's extra field announced longer than the extra block.
    const truncated = l.zip.slice();
    new DataView(truncated.buffer).setUint16(l.centralExtra + 2, 40, true);
    await rejectedEverywhere(truncated, /extra field 0x0001 of entry "a.csv" is truncated/);
    // Present but too short for both saturated sizes.
    const short = l.zip.slice();
    new DataView(short.buffer).setUint16(l.centralExtra + 2, 8, true);
    new DataView(short.buffer).setUint16(l.centralExtra + 12, 0x9999, true); // 4 + 4-byte field
    new DataView(short.buffer).setUint16(l.centralExtra + 14, 4, true);
    await rejectedEverywhere(
      short,
      /zip64 extra field of entry "a.csv" is truncated: no compressed size/,
    );
    // Renamed away: saturated sizes with no Zip64 field.
    const missing = l.zip.slice();
    missing[l.centralExtra] = 0x99;
    await rejectedEverywhere(missing, /0xffffffff but no zip64 extra field/);
    // Two Zip64 fields.
    const twice = l.zip.slice();
    new DataView(twice.buffer).setUint16(l.centralExtra + 2, 4, true);
    new DataView(twice.buffer).setUint32(l.centralExtra + 8, 0x000c0001, true);
    await rejectedEverywhere(twice, /two zip64 extra fields|truncated/);
  }
  // A local header's extra field truncated (sizes in the local header).
  const l = zip64Archive(CSV);
  const local = l.zip.slice();
  new DataView(local.buffer).setUint16(l.localExtra + 2, 17, true);
  await rejectedEverywhere(local, /extra field 0x0001 of entry "a.csv" is truncated/);
});

Deno.test("UnzipStream rejects Zip64 sizes beyond 2^53 or over the 1 TiB cap", async () => {
  for (const descriptor of [false, true]) {
    for (
      const [value, why] of [[2n ** 53n, /beyond 2\^53/], [2n ** 64n - 1n, /beyond 2\^53/], [
        2n ** 41n,
        /more than the cap of 1099511627776/,
      ]] as const
    ) {
      for (const field of [0, 8]) {
        const l = zip64Archive(CSV, { descriptor });
        const lying = l.zip.slice();
        const v = new DataView(lying.buffer);
        v.setBigUint64(l.centralExtra + 4 + field, value, true);
        if (!descriptor) v.setBigUint64(l.localExtra + 4 + field, value, true);
        await rejectedEverywhere(lying, why);
      }
    }
  }
});

Deno.test("UnzipStream rejects Zip64 sizes that lie", async () => {
  for (const descriptor of [false, true]) {
    for (const method of [8, 0] as const) {
      const l = zip64Archive(CSV, { descriptor, method });
      const patch = (edit: (v: DataView) => void) => {
        const bad = l.zip.slice();
        edit(new DataView(bad.buffer));
        return bad;
      };
      const setSize = (v: DataView, field: number, delta: number) => {
        const at = [l.centralExtra + 4 + field];
        if (!descriptor) at.push(l.localExtra + 4 + field);
        else at.push(l.descriptor + 4 + 4 + (field === 0 ? 8 : 0));
        for (const o of at) v.setBigUint64(o, v.getBigUint64(o, true) + BigInt(delta), true);
      };
      // Every record agrees on a size 1 byte off: the data proves them wrong.
      for (const delta of [-1, 1]) {
        await rejectedEverywhere(
          patch((v) => setSize(v, 0, delta)),
          /more than its|inflated to \d+ bytes, expected|more than its \d+ deflated bytes|compressed size \d+ but size/,
        );
      }
      // The central directory alone lies: it disagrees with the local header or descriptor.
      await rejectedEverywhere(
        patch((v) => v.setBigUint64(l.centralExtra + 4, BigInt(CSV.length + 1), true)),
        /disagree|compressed size \d+ but size/,
      );
      if (descriptor) {
        await rejectedEverywhere(
          patch((v) => v.setBigUint64(l.descriptor + 16, BigInt(CSV.length) + 2n ** 32n, true)),
          /data descriptor and central directory disagree/,
        );
      }
    }
  }
});

Deno.test("UnzipStream rejects a data descriptor archive whose data ends before what it held back", async () => {
  const data = new Uint8Array(2 << 20).fill(7);
  const l = zip64Archive(data, { descriptor: true, method: 0 });
  const bad = l.zip.slice();
  const v = new DataView(bad.buffer);
  for (const o of [l.centralExtra + 4, l.centralExtra + 12]) v.setBigUint64(o, 1000n, true);
  await rejectsZip(
    unzip(bad),
    /says entry "a.csv" ends at byte 1055, before byte \d+ already passed on as its data/,
  );
  await rejectsZip(unzipSingleEntry(bad), /between the entry and the central directory/);
});

Deno.test("UnzipStream rejects Zip64 end records and locators that lie", async () => {
  const l = zip64Archive(CSV);
  const patch = (edit: (v: DataView) => void) => {
    const bad = l.zip.slice();
    edit(new DataView(bad.buffer));
    return bad;
  };
  const cases: [string, (v: DataView) => void, RegExp][] = [
    [
      "locator off by one",
      (v) => v.setBigUint64(l.locator + 8, BigInt(l.zip64End + 1), true),
      /no zip64 end of central directory record at offset/,
    ],
    ["locator beyond 2^53", (v) => v.setBigUint64(l.locator + 8, 2n ** 60n, true), /beyond 2\^53/],
    ["locator on disk 2", (v) => v.setUint32(l.locator + 4, 2, true), /multi-disk/],
    [
      "record size too long",
      (v) => v.setBigUint64(l.zip64End + 4, 45n, true),
      /no zip64 end of central directory record/,
    ],
    [
      "record size huge",
      (v) => v.setBigUint64(l.zip64End + 4, 2n ** 40n, true),
      /no zip64 end of central directory record/,
    ],
    [
      "record signature",
      (v) => v.setUint32(l.zip64End, 0x06064b51, true),
      /no zip64 end of central directory record/,
    ],
    ["two entries", (v) => {
      v.setBigUint64(l.zip64End + 24, 2n, true);
      v.setBigUint64(l.zip64End + 32, 2n, true);
    }, /holds 2/],
    ["entries on other disks", (v) => v.setBigUint64(l.zip64End + 24, 0n, true), /multi-disk/],
    [
      "directory offset",
      (v) => v.setBigUint64(l.zip64End + 48, BigInt(l.central - 1), true),
      /does not end at the end record|no central directory record/,
    ],
    [
      "directory offset beyond 2^53",
      (v) => v.setBigUint64(l.zip64End + 48, 2n ** 63n, true),
      /beyond 2\^53/,
    ],
    [
      "directory size",
      (v) => v.setBigUint64(l.zip64End + 40, 1n, true),
      /does not end at the end record/,
    ],
    [
      "end record disagrees",
      (v) => v.setUint16(l.end + 10, 3, true),
      /end record and the zip64 end record disagree/,
    ],
    ["no locator", (v) => v.setUint32(l.locator, 0, true), /zip64 end record, which is missing/],
  ];
  for (const [label, edit, why] of cases) {
    await assert.doesNotReject(rejectedEverywhere(patch(edit), why), label);
  }
});

Deno.test("UnzipStream never hangs nor throws anything but ZipFormatError on damaged Zip64 records", async () => {
  let state = 12345;
  const random = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  for (const options of [{}, { descriptor: true }, { descriptor: true, signature: false }]) {
    const l = zip64Archive(CSV.subarray(0, 2000), options);
    const records = [[0, l.data], [l.descriptor, l.zip.length]];
    for (let i = 0; i < 150; i++) {
      const bad = l.zip.slice();
      for (let k = 0; k <= random(3); k++) {
        const [from, to] = records[random(2)];
        if (to > from) bad[from + random(to - from)] = random(256);
      }
      for (const run of [() => unzip(bad, 1 + random(64)), () => unzipSingleEntry(bad)]) {
        try {
          assert.deepEqual(await run(), CSV.subarray(0, 2000));
        } catch (err) {
          assert.ok(err instanceof ZipFormatError, `${err}`);
        }
      }
    }
  }
});

Deno.test("UnzipStream reads a stored entry over 4 GiB in both layouts", async () => {
  const block = new Uint8Array(1 << 24).map((_, i) => i * 13);
  const blocks = 257; // 4 GiB + 16 MiB
  const size = block.length * blocks;
  let crc = 0;
  for (let i = 0; i < blocks; i++) crc = crc32(block, crc);
  for (const descriptor of [false, true]) {
    // The archive around one block of data, its sizes and CRC-32 those of `blocks` blocks.
    const l = zip64Archive(block, { method: 0, descriptor });
    const v = l.view;
    const big = BigInt(size);
    v.setBigUint64(l.centralExtra + 4, big, true);
    v.setBigUint64(l.centralExtra + 12, big, true);
    v.setUint32(l.central + 16, crc, true);
    if (descriptor) {
      v.setUint32(l.descriptor + 4, crc, true);
      v.setBigUint64(l.descriptor + 8, big, true);
      v.setBigUint64(l.descriptor + 16, big, true);
    } else {
      v.setUint32(14, crc, true);
      v.setBigUint64(l.localExtra + 4, big, true);
      v.setBigUint64(l.localExtra + 12, big, true);
    }
    const tail = l.zip.subarray(l.descriptor);
    const shift = size - block.length;
    v.setBigUint64(l.zip64End + 48, BigInt(l.central + shift), true);
    v.setBigUint64(l.locator + 8, BigInt(l.zip64End + shift), true);
    let sent = -1;
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === -1) controller.enqueue(l.zip.subarray(0, l.data));
        else if (sent < blocks) controller.enqueue(block);
        else if (sent === blocks) controller.enqueue(tail);
        else controller.close();
        sent++;
      },
    }, { highWaterMark: 0 });
    let total = 0;
    for await (const chunk of input.pipeThrough(new UnzipStream())) total += chunk.length;
    assert.equal(total, size);
  }
});
