/**
 * Unzip kernels on a Vision-sized archive: a synthetic spot 1m month (44,640
 * rows, about 6.7 MB of CSV, about 2 MB zipped). Compares the streaming
 * {@linkcode UnzipStream} (64 KiB input chunks, both zip layouts), the
 * whole-buffer {@linkcode unzipSingleEntry}, and zip.js's readers without web
 * workers (`ZipReader` on the bytes, `ZipReaderStream` on 64 KiB chunks; both
 * check the CRC-32 through the platform's gzip `DecompressionStream`). The
 * end-to-end figures (zip → Arrow) are in `vision_decode_bench.ts`.
 *
 * Run: `deno bench -A --config bench/deno.json bench/unzip_bench.ts`
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  configure,
  Uint8ArrayReader,
  Uint8ArrayWriter,
  ZipReader,
  ZipReaderStream,
} from "@zip.js/zip.js";
import { unzipSingleEntry, UnzipStream } from "../src/codec/unzip_stream.ts";
import { encodeZip } from "../src/codec/zip_encoder.ts";

/** Deterministic spot 1m rows in the Binance format (8 decimals, ms timestamps). */
function spotMonthCsv(rows: number): Uint8Array {
  let state = 7;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  let price = 4_228_358; // cents
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const open = price;
    const close = Math.max(100, open + Math.round((random() - 0.5) * 4000));
    const high = Math.max(open, close) + Math.round(random() * 1000);
    const low = Math.min(open, close) - Math.round(random() * 1000);
    price = close;
    const volume = random() * 200;
    const t = 1704067200000 + i * 60_000;
    lines.push(
      `${t},${(open / 100).toFixed(8)},${(high / 100).toFixed(8)},${(low / 100).toFixed(8)},` +
        `${(close / 100).toFixed(8)},${volume.toFixed(8)},${t + 59_999},` +
        `${(volume * open / 100).toFixed(8)},${1 + Math.floor(random() * 5000)},` +
        `${(volume * random()).toFixed(8)},${(volume * open / 200).toFixed(8)},0\n`,
    );
  }
  return new TextEncoder().encode(lines.join(""));
}

const CSV = spotMonthCsv(44_640);
const NAME = "BTCUSDT-1m-2024-01.csv";
const ZIP = await encodeZip(NAME, CSV);
const ZIP_DESCRIPTOR = await encodeZip(NAME, CSV, { dataDescriptor: true });
const CHUNK = 65_536;

configure({ useWebWorkers: false });

/** The archive as a stream of {@linkcode CHUNK}-byte chunks, as a download delivers it. */
function chunked(zip: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= zip.length) return controller.close();
      controller.enqueue(zip.subarray(at, at + CHUNK));
      at += CHUNK;
    },
  });
}

async function viaStream(zip: Uint8Array): Promise<number> {
  let length = 0;
  for await (const chunk of chunked(zip).pipeThrough(new UnzipStream())) length += chunk.length;
  return length;
}

async function viaStreamBytes(zip: Uint8Array): Promise<Uint8Array> {
  const body = ReadableStream.from([zip]).pipeThrough(new UnzipStream());
  return new Uint8Array(await new Response(body).arrayBuffer());
}

async function viaZipJs(zip: Uint8Array): Promise<Uint8Array> {
  const reader = new ZipReader(new Uint8ArrayReader(zip), { checkSignature: true });
  const [entry] = await reader.getEntries();
  if (!entry || entry.directory) throw new Error("No file entry in the archive");
  const out = await entry.getData(new Uint8ArrayWriter());
  await reader.close();
  return out;
}

async function viaZipJsStream(zip: Uint8Array): Promise<number> {
  const entries = chunked(zip).pipeThrough(new ZipReaderStream({ checkSignature: true }));
  let length = 0;
  for await (const entry of entries) {
    for await (const chunk of entry.readable!) length += chunk.length;
  }
  return length;
}

// Each kernel is checked once against the source CSV before it is timed.
console.error(`csv ${CSV.length} bytes, zip ${ZIP.length} bytes`);
assert.deepEqual(await unzipSingleEntry(ZIP), CSV);
assert.deepEqual(await viaStreamBytes(ZIP), CSV);
assert.deepEqual(await viaStreamBytes(ZIP_DESCRIPTOR), CSV);
assert.equal(await viaStream(ZIP), CSV.length);
assert.deepEqual(await viaZipJs(ZIP), CSV);
assert.equal(await viaZipJsStream(ZIP), CSV.length);

const group = "unzip a 1m month";

Deno.bench({
  name: "unzipSingleEntry (inflateRawSync, whole buffer)",
  group,
  baseline: true,
  fn: async () => void (await unzipSingleEntry(ZIP)),
});

Deno.bench({
  name: "UnzipStream, local sizes, 64 KiB chunks",
  group,
  fn: async () => void (await viaStream(ZIP)),
});

Deno.bench({
  name: "UnzipStream, data descriptor (buffered), 64 KiB chunks",
  group,
  fn: async () => void (await viaStream(ZIP_DESCRIPTOR)),
});

Deno.bench({
  name: "zip.js ZipReader (no workers, CompressionStream)",
  group,
  fn: async () => void (await viaZipJs(ZIP)),
});

Deno.bench({
  name: "zip.js ZipReaderStream (no workers), 64 KiB chunks",
  group,
  fn: async () => void (await viaZipJsStream(ZIP)),
});
