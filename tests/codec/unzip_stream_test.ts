import assert from "node:assert/strict";
import { ZipFormatError } from "../../src/core/errors.ts";
import { unzipSingleEntry, UnzipStream } from "../../src/codec/unzip_stream.ts";
import { encodeZip, encodeZipEntries, type ZipEncodeOptions } from "../../src/codec/zip_encoder.ts";

const encoder = new TextEncoder();

/** A synthetic spot 1m CSV of `rows` rows. */
function csv(rows: number): Uint8Array<ArrayBuffer> {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const t = 1704067200000 + i * 60_000;
    const p = (42000 + (i * 7919) % 1000 / 10).toFixed(8);
    lines.push(
      `${t},${p},${p},${p},${p},1.${i % 1000},${t + 59_999},${i * 3}.5,${i % 97},0.1,0.2,0`,
    );
  }
  return encoder.encode(lines.join("\n") + "\n");
}

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

/** Both zip layouts and both methods. */
const LAYOUTS: [string, ZipEncodeOptions][] = [
  ["local sizes, deflate", {}],
  ["local sizes, store", { method: "store" }],
  ["data descriptor, deflate", { dataDescriptor: true }],
  ["data descriptor, store", { dataDescriptor: true, method: "store" }],
];

const SMALL = csv(200);
const BIG = csv(44_640);

for (const [label, options] of LAYOUTS) {
  Deno.test(`UnzipStream reads ${label} in 1-byte, odd and big chunks`, async () => {
    const zip = await encodeZip("a.csv", SMALL, options);
    for (const size of [1, 7, 4096, zip.length]) {
      assert.deepEqual(await unzip(zip, size), SMALL, `chunk size ${size}`);
    }
    assert.deepEqual(await unzipSingleEntry(zip), SMALL);
  });

  Deno.test(`UnzipStream reads a 1m month (${label})`, async () => {
    const zip = await encodeZip("BTCUSDT-1m-2024-01.csv", BIG, options);
    assert.deepEqual(await unzip(zip, 65536), BIG);
    assert.deepEqual(await unzip(zip, zip.length), BIG);
    assert.deepEqual(await unzipSingleEntry(zip), BIG);
  });

  Deno.test(`UnzipStream reads an empty entry (${label})`, async () => {
    const zip = await encodeZip("empty.csv", new Uint8Array(0), options);
    assert.deepEqual(await unzip(zip, 1), new Uint8Array(0));
    assert.deepEqual(await unzip(zip), new Uint8Array(0));
    assert.deepEqual(await unzipSingleEntry(zip), new Uint8Array(0));
  });

  Deno.test(`UnzipStream rejects an archive truncated at any byte (${label})`, async () => {
    const zip = await encodeZip("a.csv", csv(4), options);
    for (let cut = 0; cut < zip.length; cut++) {
      const part = zip.slice(0, cut);
      const why = /truncated|empty/;
      await rejectsZip(unzip(part, 1), why);
      await rejectsZip(unzip(part), why);
      await rejectsZip(unzipSingleEntry(part), why);
    }
  });

  Deno.test(`UnzipStream rejects two entries (${label})`, async () => {
    const zip = await encodeZipEntries(
      [{ name: "a.csv", data: SMALL }, { name: "b.csv", data: SMALL }],
      options,
    );
    await rejectsZip(unzip(zip, 1), /more than one entry|holds 2/);
    await rejectsZip(unzip(zip), /more than one entry|holds 2/);
    await rejectsZip(unzipSingleEntry(zip), /holds 2/);
  });
}

Deno.test("UnzipStream rejects a big archive truncated at spread offsets", async () => {
  for (const options of [{}, { dataDescriptor: true }]) {
    const zip = await encodeZip("a.csv", BIG, options);
    const cuts = [
      1,
      29,
      30,
      31,
      100,
      4096,
      65536,
      zip.length - 200,
      zip.length - 23,
      zip.length - 1,
    ];
    for (let i = 1; i < 20; i++) cuts.push(Math.floor((zip.length * i) / 20));
    for (const cut of cuts) {
      await rejectsZip(unzip(zip.slice(0, cut)), /truncated/);
      await rejectsZip(unzipSingleEntry(zip.slice(0, cut)), /truncated/);
    }
  }
});

Deno.test("UnzipStream rejects what is not a zip", async () => {
  const html = encoder.encode('<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>');
  await rejectsZip(unzip(html), /not a zip archive: it starts with bytes "3c 3f 78 6d"/);
  await rejectsZip(unzip(html, 1), /not a zip archive/);
  await rejectsZip(unzipSingleEntry(html), /not a zip archive/);
  await rejectsZip(unzip(new Uint8Array(0)), /the archive is empty in "t.zip"/);
  const emptyZip = await encodeZipEntries([]);
  assert.equal(emptyZip.length, 22);
  await rejectsZip(unzip(emptyZip), /holds no entry/);
  await rejectsZip(unzipSingleEntry(emptyZip), /holds no entry/);
});

Deno.test("UnzipStream rejects a CRC-32 mismatch", async () => {
  const zip = await encodeZip("a.csv", SMALL);
  const badCrc = zip.slice();
  badCrc[14] ^= 0xff; // local header CRC
  await rejectsZip(unzip(badCrc), /CRC-32 mismatch in entry "a.csv": expected 0x[0-9a-f]{8}, got/);
  await rejectsZip(unzip(badCrc, 1), /CRC-32 mismatch/);
  const central = zip.length - 22 - 46 - 5;
  badCrc[central + 16] ^= 0xff; // and the central directory's, so that both agree
  await rejectsZip(unzipSingleEntry(badCrc), /CRC-32 mismatch/);

  const stored = await encodeZip("a.csv", SMALL, { method: "store" });
  stored[30 + 5 + 100] ^= 0x01; // one bit of the data
  await rejectsZip(unzip(stored), /CRC-32 mismatch/);
  await rejectsZip(unzipSingleEntry(stored), /CRC-32 mismatch/);

  for (const dataDescriptor of [false, true]) {
    const deflated = await encodeZip("a.csv", SMALL, { dataDescriptor });
    for (const at of [35, 40, 100, 200, 300]) {
      const bad = deflated.slice();
      bad[at] ^= 0x5a; // a byte of the compressed data
      await rejectsZip(unzip(bad), /CRC-32|inflate|more than/);
      await rejectsZip(unzipSingleEntry(bad), /CRC-32|inflate|more than/);
    }
  }
});

Deno.test("UnzipStream rejects a size mismatch", async () => {
  const zip = await encodeZip("a.csv", SMALL);
  const view = new DataView(zip.buffer);
  const central = zip.length - 22 - 46 - 5;
  for (const delta of [-1, 1]) {
    const bad = zip.slice();
    const v = new DataView(bad.buffer);
    v.setUint32(22, view.getUint32(22, true) + delta, true);
    v.setUint32(central + 24, view.getUint32(22, true) + delta, true);
    await rejectsZip(unzip(bad), delta < 0 ? /more than its/ : /inflated to \d+ bytes, expected/);
    await rejectsZip(unzipSingleEntry(bad), delta < 0 ? /more than its/ : /expected/);
  }
});

Deno.test("UnzipStream stops a bomb at its declared size and cancels its source", async () => {
  const zeros = new Uint8Array(64 << 20);
  const zip = await encodeZip("bomb.csv", zeros);
  const declared = 1 << 20;
  const view = new DataView(zip.buffer);
  view.setUint32(22, declared, true); // local header
  view.setUint32(zip.length - 22 - 46 - 8 + 24, declared, true); // central directory
  let at = 0;
  const cancelled = Promise.withResolvers<unknown>();
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= zip.length) return controller.close();
      controller.enqueue(zip.subarray(at, at + 1024));
      at += 1024;
    },
    cancel: (reason) => cancelled.resolve(reason),
  });
  const unzipped = collect(input.pipeThrough(new UnzipStream({ file: "t.zip" })));
  await rejectsZip(unzipped, /entry "bomb.csv" inflates to more than its 1048576 bytes in "t.zip"/);
  assert.ok((await cancelled.promise) instanceof ZipFormatError);
  assert.ok(at < zip.length / 4, `read ${at} of ${zip.length} bytes`);
  await rejectsZip(unzipSingleEntry(zip), /inflates to more than its 1048576 bytes/);
  // A declared size no deflate stream of this length can reach is refused before inflating.
  const compressed = view.getUint32(18, true);
  view.setUint32(22, compressed * 1032 + 1, true);
  view.setUint32(zip.length - 22 - 46 - 8 + 24, compressed * 1032 + 1, true);
  const refused = /entry "bomb.csv" declares \d+ bytes, more than its \d+ deflated bytes can hold/;
  await rejectsZip(unzip(zip), refused);
  await rejectsZip(unzipSingleEntry(zip), refused);
});

Deno.test("UnzipStream rejects encryption, unknown methods and zip64 sizes without their records", async () => {
  const zip = await encodeZip("a.csv", SMALL);
  const central = zip.length - 22 - 46 - 5;
  const patch = (edit: (v: DataView) => void) => {
    const bad = zip.slice();
    edit(new DataView(bad.buffer));
    return bad;
  };
  const encrypted = patch((v) => {
    v.setUint16(6, 1, true);
    v.setUint16(central + 8, 1, true);
  });
  await rejectsZip(unzip(encrypted), /entry "a.csv" is encrypted/);
  await rejectsZip(unzipSingleEntry(encrypted), /is encrypted/);
  const bzip2 = patch((v) => {
    v.setUint16(8, 12, true);
    v.setUint16(central + 10, 12, true);
  });
  await rejectsZip(unzip(bzip2), /unsupported compression method 12/);
  await rejectsZip(unzipSingleEntry(bzip2), /unsupported compression method 12/);
  const zip64 = patch((v) => {
    v.setUint32(18, 0xffffffff, true);
    v.setUint32(22, 0xffffffff, true);
  });
  await rejectsZip(unzip(zip64), /zip64/);
  const zip64End = patch((v) => v.setUint16(zip.length - 12, 0xffff, true));
  await rejectsZip(unzip(zip64End), /zip64/);
  await rejectsZip(unzipSingleEntry(zip64End), /zip64/);
});

Deno.test("UnzipStream rejects data after the end record", async () => {
  const zip = await encodeZip("a.csv", SMALL);
  const junk = new Uint8Array(zip.length + 3);
  junk.set(zip);
  await rejectsZip(unzip(junk), /end of central directory not found/);
  await rejectsZip(unzipSingleEntry(junk), /end of central directory not found/);
});

Deno.test("UnzipStream cancelled mid-stream cancels its source and stops inflating", async () => {
  for (const dataDescriptor of [false, true]) {
    const zip = await encodeZip("a.csv", BIG, { dataDescriptor });
    const cancelled = Promise.withResolvers<unknown>();
    let at = 0;
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(zip.subarray(at, at + 16384));
        at += 16384;
      },
      cancel(reason) {
        cancelled.resolve(reason);
      },
    });
    const reader = input.pipeThrough(new UnzipStream()).getReader();
    if (!dataDescriptor) {
      const first = await reader.read();
      assert.equal(first.done, false);
    }
    await reader.cancel("enough");
    assert.equal(await cancelled.promise, "enough");
    assert.ok(at < zip.length);
  }
});

Deno.test("UnzipStream passes an upstream error to its readable", async () => {
  const zip = await encodeZip("a.csv", BIG);
  const boom = new Error("connection reset");
  let sent = false;
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(boom);
      controller.enqueue(zip.subarray(0, 100_000));
      sent = true;
    },
  });
  await assert.rejects(collect(input.pipeThrough(new UnzipStream())), (err) => err === boom);
});

Deno.test("UnzipStream errors its writable when the readable errors", async () => {
  const unzipper = new UnzipStream({ file: "x.zip" });
  const writer = unzipper.writable.getWriter();
  const reader = unzipper.readable.getReader();
  const write = writer.write(encoder.encode("not a zip at all"));
  await rejectsZip(reader.read(), /not a zip archive/);
  await rejectsZip(write, /not a zip archive.* in "x.zip"/);
  await rejectsZip(writer.closed, /not a zip/);
});

async function tool(cmd: string, args: string[], cwd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test("UnzipStream reads archives written by zip and Python zipfile", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a.csv`, BIG);
    const made: string[] = [];
    if (await tool("zip", ["-q", "zip.zip", "a.csv"], dir)) made.push("zip.zip");
    // zip writing to a pipe defers the sizes to a data descriptor.
    if (await tool("sh", ["-c", "zip -q - a.csv | cat > pipe.zip"], dir)) made.push("pipe.zip");
    const py = "import zipfile,sys\n" +
      "zipfile.ZipFile('py.zip','w',zipfile.ZIP_DEFLATED).write('a.csv')\n" +
      "class W:\n def __init__(s,f): s.f=f\n def write(s,b): return s.f.write(b)\n def flush(s): pass\n" +
      "with open('pystream.zip','wb') as f:\n" +
      " with zipfile.ZipFile(W(f),'w',zipfile.ZIP_DEFLATED) as z:\n" +
      "  with z.open('a.csv','w') as e: e.write(open('a.csv','rb').read())\n";
    if (await tool("python3", ["-c", py], dir)) made.push("py.zip", "pystream.zip");
    assert.ok(made.length > 0, "neither zip nor python3 is available");
    let descriptors = 0;
    for (const name of made) {
      const zip = await Deno.readFile(`${dir}/${name}`);
      if (new DataView(zip.buffer).getUint16(6, true) & 8) descriptors++;
      assert.deepEqual(await unzip(zip, 65536), BIG, name);
      assert.deepEqual(await unzip(zip, 1000), BIG, name);
      assert.deepEqual(await unzipSingleEntry(zip, { file: name }), BIG, name);
    }
    if (made.includes("pystream.zip")) {
      assert.ok(descriptors > 0, "no data descriptor archive was made");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
