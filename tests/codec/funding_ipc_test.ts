import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Data, type RecordBatch, Schema, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import pl from "nodejs-polars";
import { CacheError } from "../../src/core/errors.ts";
import {
  allocFundingColumns,
  FUNDING_SCHEMA,
  fundingBatch,
  type FundingColumns,
  fundingColumnsOf,
  setValid,
} from "../../src/core/funding_schema.ts";
import { allocKlineColumns, klineBatch, recordBatchOf, structData } from "../../src/core/schema.ts";
import {
  decodeFundingIpc,
  decodeFundingIpcMetadata,
  encodeFundingIpc,
  type FundingIpcHeader,
} from "../../src/codec/funding_ipc.ts";
import { decodeKlineIpc, encodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import { partitionMetadataToMap } from "../../src/codec/_partition_metadata.ts";
import { readArrowBatch, readArrowFooter } from "../../src/codec/_arrow_file_reader.ts";
import { decodeFundingCsv } from "../../src/codec/funding_csv.ts";
import { decodeFundingJson } from "../../src/source/funding_json.ts";

const MONTH = Date.UTC(2024, 0, 1);
const HEADER: FundingIpcHeader = {
  market: "um",
  symbol: "BTCUSDT",
  partition: "2024-01",
  source: "VISION",
  visionSha256: "d".repeat(64),
  writtenAt: Date.UTC(2024, 1, 2),
};

/** `n` rows from `from` (8 h apart, jitter); interval hours null on multiples of 3, mark price on odd rows. */
function columns(n: number, from = 0): FundingColumns {
  const c = allocFundingColumns(n);
  for (let i = 0; i < n; i++) {
    const k = from + i;
    c.fundingTime[i] = MONTH + k * 28_800_000 + (k % 3);
    c.fundingRate[i] = k % 4 === 0 ? -0 : (k % 7 - 3) * 0.0000125;
    if (k % 3 !== 0) {
      c.fundingIntervalHours[i] = k % 2 ? 8 : 4;
      setValid(c.fundingIntervalHoursValid, i);
    }
    if (k % 2 === 1) {
      c.markPrice[i] = 42_000 + k / 8;
      setValid(c.markPriceValid, i);
    }
  }
  return c;
}

/** Every column of every row, nulls as null (rates compared with Object.is through the strings). */
function rows(batches: readonly RecordBatch[]): string[] {
  return batches.flatMap((batch) => {
    const c = fundingColumnsOf(batch);
    const bit = (bits: Uint8Array, i: number) => (bits[i >> 3] >> (i & 7)) & 1;
    return Array.from({ length: batch.numRows }, (_, i) =>
      [
        c.fundingTime[i],
        Object.is(c.fundingRate[i], -0) ? "-0" : c.fundingRate[i],
        bit(c.fundingIntervalHoursValid, i) ? c.fundingIntervalHours[i] : null,
        bit(c.markPriceValid, i) ? c.markPrice[i] : null,
      ].join(" "));
  });
}

function corrupt(bytes: Uint8Array, message?: RegExp, checkBody = true): CacheError {
  try {
    decodeFundingIpc(bytes, { file: "2024-01.arrow", checkBody });
  } catch (e) {
    assert.ok(e instanceof CacheError, `expected CacheError, got ${e}`);
    assert.equal(e.path, "2024-01.arrow");
    if (message) assert.match(e.message, message);
    return e;
  }
  return assert.fail("no error");
}

Deno.test("encodeFundingIpc round trips rows, nulls and metadata through decodeFundingIpc", () => {
  const batches = [
    fundingBatch(columns(13), 13, "VISION"),
    fundingBatch(columns(0, 13), 0),
    fundingBatch(columns(20, 13)),
  ];
  const bytes = encodeFundingIpc(batches, HEADER);
  const { batches: back, metadata } = decodeFundingIpc(bytes);
  assert.deepEqual(rows(back), rows(batches));
  assert.equal(back.length, 2);
  for (const b of back) assert.equal(b.schema, FUNDING_SCHEMA);
  assert.deepEqual(metadata, {
    ...HEADER,
    dataset: "fundingRate",
    rows: 33,
    firstFundingTime: MONTH,
    lastFundingTime: MONTH + 32 * 28_800_000 + 2,
    formatVersion: "1",
  });
  assert.deepEqual(decodeFundingIpcMetadata(bytes), metadata);
  // An empty partition (no rows) still records what was written.
  const empty = decodeFundingIpc(encodeFundingIpc([], { ...HEADER, source: "REST" }));
  assert.deepEqual(empty.batches, []);
  assert.equal(empty.metadata.rows, 0);
  assert.equal(empty.metadata.firstFundingTime, undefined);
});

Deno.test("encodeFundingIpc stores columns without nulls, all-null columns and sliced batches", () => {
  const full = columns(16);
  for (let i = 0; i < 16; i++) {
    setValid(full.fundingIntervalHoursValid, i);
    setValid(full.markPriceValid, i);
  }
  const allNull = columns(9, 16);
  allNull.fundingIntervalHoursValid.fill(0);
  allNull.markPriceValid.fill(0);
  const sliced = fundingBatch(columns(30, 25)).slice(3, 22); // bit offset 3
  const batches = [fundingBatch(full), fundingBatch(allNull), sliced];
  const { batches: back } = decodeFundingIpc(encodeFundingIpc(batches, HEADER));
  assert.deepEqual(rows(back), rows(batches));
  assert.deepEqual(back.map((b) => b.getChild("mark_price")!.nullCount), [0, 9, 10]);
  assert.equal(back[0].getChild("mark_price")!.data[0].nullBitmap?.length ?? 0, 0);
});

Deno.test("decodeFundingIpc reads files from the CSV and JSON decoders as they decoded", () => {
  const csv = "calc_time,funding_interval_hours,last_funding_rate\n" +
    "1704067200000,8,0.00010000\n1704096000001,8,-0.00003750\n1704124800002,4,0.00000000\n";
  const vision = decodeFundingCsv(new TextEncoder().encode(csv), { source: "VISION" });
  const fromVision = decodeFundingIpc(encodeFundingIpc(vision, HEADER)).batches;
  assert.deepEqual(rows(fromVision), rows(vision));
  assert.deepEqual([...fromVision[0].getChild("funding_interval_hours")!], [8n, 8n, 4n]);
  const page = decodeFundingJson(
    new TextEncoder().encode(JSON.stringify([
      { symbol: "BTCUSDT", fundingRate: "-0.03750000", fundingTime: 1570608000000, markPrice: "" },
      { symbol: "BTCUSDT", fundingRate: "0.0001", fundingTime: 1570636800000, markPrice: "8.5" },
    ])),
    { symbol: "BTCUSDT" },
  );
  const rest = [fundingBatch(page.columns, page.length, "REST")];
  const fromRest = decodeFundingIpc(encodeFundingIpc(rest, { ...HEADER, source: "REST" }));
  assert.deepEqual([...fromRest.batches[0].getChild("mark_price")!], [null, 8.5]);
  assert.deepEqual([...fromRest.batches[0].getChild("funding_interval_hours")!], [null, null]);
});

Deno.test("funding IPC files read back in arrow-js with the same values, nulls and metadata", () => {
  const batches = [fundingBatch(columns(10)), fundingBatch(columns(7, 10))];
  const table = tableFromIPC(encodeFundingIpc(batches, HEADER));
  assert.equal(table.numRows, 17);
  assert.deepEqual(
    table.schema.fields.map((f) => `${f.name} ${f.type} ${f.nullable}`),
    FUNDING_SCHEMA.fields.map((f) => `${f.name} ${f.type} ${f.nullable}`),
  );
  const expected = new Table(batches);
  for (const name of ["funding_time", "funding_rate", "funding_interval_hours", "mark_price"]) {
    assert.deepEqual([...table.getChild(name)!], [...expected.getChild(name)!], name);
  }
  assert.equal(table.schema.metadata.get("dsm.dataset"), "fundingRate");
  assert.equal(table.schema.metadata.get("dsm.first_funding_time"), String(MONTH));
  assert.equal(table.schema.metadata.get("dsm.rows"), "17");
});

Deno.test("funding IPC files read back in Polars with nulls", () => {
  const bytes = encodeFundingIpc([fundingBatch(columns(12))], HEADER);
  const df = pl.readIPC(Buffer.from(bytes));
  assert.deepEqual(df.shape, { height: 12, width: 4 });
  assert.deepEqual(df.columns, FUNDING_SCHEMA.fields.map((f) => f.name));
  assert.equal(String(df.dtypes[0]), "DataType(Datetime(ms,UTC))");
  const c = columns(12);
  const interval = df.getColumn("funding_interval_hours").toArray().map((v) =>
    v === null ? null : Number(v)
  );
  assert.deepEqual(interval, [...c.fundingIntervalHours].map((v, i) => i % 3 === 0 ? null : v));
  assert.deepEqual(
    df.getColumn("mark_price").toArray(),
    [...c.markPrice].map((v, i) => i % 2 === 1 ? v : null),
  );
  assert.deepEqual(df.getColumn("funding_rate").toArray(), [...c.fundingRate]);
  assert.equal(df.getColumn("mark_price").nullCount(), 6);
});

Deno.test("decodeFundingIpc decodes a funding file arrow-js wrote with the dsm metadata", () => {
  const batches = [fundingBatch(columns(11))];
  const ours = encodeFundingIpc(batches, HEADER);
  const metadata = tableFromIPC(ours).schema.metadata;
  const theirs = tableToIPC(
    new Table(new Schema(FUNDING_SCHEMA.fields, metadata), batches),
    "file",
  );
  const decoded = decodeFundingIpc(theirs, { checkBody: false });
  assert.deepEqual(rows(decoded.batches), rows(batches));
});

Deno.test("encodeFundingIpc rejects foreign schemas, nulls in non-null columns and unordered rows", () => {
  const klines = klineBatch(allocKlineColumns(2));
  assert.throws(() => encodeFundingIpc([klines], HEADER), TypeError);
  const b = fundingBatch(columns(4));
  assert.throws(
    () => encodeFundingIpc([b, b], HEADER),
    /funding_time \d+ at row 4 does not follow/,
  );
  // A funding_rate column with a null (the module's decoders never make one).
  const children = [...b.data.children];
  const rate = children[1];
  children[1] = new Data(rate.type, 0, 4, 1, [undefined, rate.values, new Uint8Array([0b1110])]);
  const withNull = recordBatchOf(FUNDING_SCHEMA, structData(b.data.type, 4, children));
  assert.throws(
    () => encodeFundingIpc([withNull], HEADER),
    /Cannot encode funding rates: column 1 has nulls/,
  );
  // A null count its bitmap does not have.
  const mark = children[3];
  children[1] = rate;
  children[3] = new Data(mark.type, 0, 4, 1, [undefined, mark.values, new Uint8Array([0b1100])]);
  const miscounted = recordBatchOf(FUNDING_SCHEMA, structData(b.data.type, 4, children));
  assert.throws(
    () => encodeFundingIpc([miscounted], HEADER),
    /column 3 says 1 nulls, its bitmap 2/,
  );
});

Deno.test("funding and kline partition files are not mistaken for each other", () => {
  const funding = encodeFundingIpc([fundingBatch(columns(3))], HEADER);
  const klines = encodeKlineIpc([klineBatch(allocKlineColumns(1))], {
    ...HEADER,
    interval: "1m",
    partition: "2024-01-01",
  });
  assert.throws(() => decodeKlineIpc(funding), /the schema has 4 columns, expected 11/);
  corrupt(klines, /the schema has 11 columns, expected 4/);
  assert.throws(() => decodeFundingIpcMetadata(klines), { code: "CACHE_ERROR" });
});

Deno.test("decodeFundingIpc rejects metadata that does not match the rows or the dataset", () => {
  const batches = [fundingBatch(columns(5))];
  const scan = { rows: 5, first: MONTH, last: MONTH + 4 * 28_800_000 + 1, formatVersion: "1" };
  const cases: [Parameters<typeof partitionMetadataToMap>, RegExp][] = [
    [
      [{ ...HEADER, ...scan, rows: 4 }, "funding_time", [["dataset", "fundingRate"]]],
      /holds 5 rows/,
    ],
    [
      [{ ...HEADER, ...scan, last: 1 }, "funding_time", [["dataset", "fundingRate"]]],
      /funding_time spans/,
    ],
    [
      [{ ...HEADER, ...scan }, "funding_time", [["dataset", "klines"]]],
      /"dsm.dataset" is "klines"/,
    ],
    [[{ ...HEADER, ...scan }, "funding_time", []], /"dsm.dataset" is missing/],
    [
      [{ ...HEADER, ...scan }, "open_time", [["dataset", "fundingRate"]]],
      /first and last funding_time/,
    ],
  ];
  for (const [args, message] of cases) {
    // The same batches under other metadata, written by arrow-js (no CRCs to check).
    const metadata = new Map([...partitionMetadataToMap(...args), ["dsm.body_crc32", "0"]]);
    const table = new Table(new Schema(FUNDING_SCHEMA.fields, metadata), batches);
    const bytes = tableToIPC(table, "file");
    corrupt(bytes, message, false);
  }
});

Deno.test("decodeFundingIpc rejects every truncation and returns the rows or a CacheError for any flipped byte", () => {
  const batches = [fundingBatch(columns(9))];
  const bytes = encodeFundingIpc(batches, { ...HEADER, symbol: "这是测试币456" });
  const expected = rows(batches);
  for (let n = 0; n < bytes.length; n++) corrupt(bytes.subarray(0, n));
  for (let i = 0; i < bytes.length; i++) {
    for (const checkBody of [true, false]) {
      const damaged = bytes.slice();
      damaged[i] ^= 0x41;
      try {
        const back = decodeFundingIpc(damaged, { checkBody });
        if (checkBody) assert.deepEqual(rows(back.batches), expected, `byte ${i}`);
      } catch (e) {
        assert.ok(e instanceof CacheError, `byte ${i}: ${e}`);
      }
    }
  }
});

Deno.test("decodeFundingIpc checks null counts against the bitmaps (body CRC off)", () => {
  const batch = fundingBatch(columns(10));
  const bytes = encodeFundingIpc([batch], HEADER);
  const block = readArrowFooter(bytes)!.blocks[0];
  const nullable = [false, false, true, true];
  const at = readArrowBatch(bytes, block, 4, { nullable })!.nulls![3]!.offset;
  assert.equal(bytes[at], 0b10101010); // mark prices on odd rows
  const damaged = bytes.slice();
  damaged[at] &= ~2;
  corrupt(damaged, /body CRC-32/);
  corrupt(damaged, /a record batch is unreadable/, false);
});

Deno.test("decodeFundingIpc decodes bytes at any byteOffset to the same rows", () => {
  const batches = [fundingBatch(columns(21))];
  const bytes = encodeFundingIpc(batches, HEADER);
  for (let shift = 0; shift < 9; shift++) {
    const holder = new Uint8Array(bytes.length + shift);
    holder.set(bytes, shift);
    assert.deepEqual(rows(decodeFundingIpc(holder.subarray(shift)).batches), rows(batches));
  }
});
