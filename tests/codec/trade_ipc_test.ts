import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Data, type RecordBatch, tableFromIPC } from "apache-arrow";
import pl from "nodejs-polars";
import type { Market } from "../../src/core/market.ts";
import { allocKlineColumns, klineBatch } from "../../src/core/schema.ts";
import { type TradeDataset, tradeSchemaOf } from "../../src/core/trade_schema.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import { encodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import {
  decodeTradeIpc,
  decodeTradeIpcMetadata,
  encodeTradeIpc,
  type TradeIpcHeader,
} from "../../src/codec/trade_ipc.ts";
import { partitionMetadataToMap } from "../../src/codec/_partition_metadata.ts";
import { partitionLayout, writePartitionFile } from "../../src/codec/_partition_ipc.ts";

const DAY_MS = Date.UTC(2025, 0, 1);
const MARKETS: readonly Market[] = ["spot", "um", "cm"];
const DATASETS: readonly TradeDataset[] = ["aggTrades", "trades"];

function header(dataset: TradeDataset, market: Market): TradeIpcHeader {
  return {
    dataset,
    market,
    symbol: market === "cm" ? "BTCUSD_PERP" : "BTCUSDT",
    partition: "2025-01-01",
    source: "VISION",
    visionSha256: "c".repeat(64),
    writtenAt: Date.UTC(2025, 0, 2),
  };
}

/**
 * Vision CSV of `n` rows of a dataset and market: ids from 1000 (gaps every
 * 7th), times in ms sharing a millisecond in pairs, booleans in a pattern.
 */
function csvOf(
  dataset: TradeDataset,
  market: Market,
  n: number,
  ids = (i: number) => 1000 + i + (i / 7 | 0),
): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = ids(i);
    const time = DAY_MS + (i >> 1) * 3;
    const price = (93422.4 + (i % 13) * 0.1).toFixed(1);
    const qty = (0.001 * ((i * 37) % 1000 + 1)).toFixed(3);
    const maker = i % 3 === 0 ? "true" : "false";
    const best = market === "spot" ? `,${i % 5 === 0 ? "False" : "True"}` : "";
    lines.push(
      dataset === "aggTrades"
        ? `${id},${price},${qty},${2 * id},${2 * id + 1},${time},${maker}${best}`
        : `${id},${price},${qty},${
          (Number(price) * Number(qty)).toFixed(8)
        },${time},${maker}${best}`,
    );
  }
  return lines.join("\n") + "\n";
}

function decode(dataset: TradeDataset, market: Market, n: number, batchRows = 65536) {
  const bytes = new TextEncoder().encode(csvOf(dataset, market, n));
  return decodeTradeCsv(bytes, { dataset, market, batchRows });
}

/** Bit `i` of a bitmap from bit `offset`. */
function bit(bits: Uint8Array, offset: number, i: number): number {
  const p = offset + i;
  return (bits[p >>> 3] >>> (p & 7)) & 1;
}

/** Every row of every column, with the raw bits of values and validity: bit-identical or not. */
function rawRows(batches: readonly RecordBatch[]): string[] {
  const out: string[] = [];
  for (const batch of batches) {
    const children: readonly Data[] = batch.data.children;
    for (let i = 0; i < batch.numRows; i++) {
      out.push(
        children.map((d) => {
          const valid = d.nullCount === 0 ? 1 : bit(d.nullBitmap!, d.offset, i);
          if (String(d.type) === "Bool") return `${valid}:${bit(d.values, d.offset, i)}`;
          const bytes = new Uint8Array(d.values.buffer, d.values.byteOffset + 8 * i, 8);
          return `${valid}:${[...bytes].join(".")}`;
        }).join(" "),
      );
    }
  }
  return out;
}

for (const dataset of DATASETS) {
  for (const market of MARKETS) {
    Deno.test(`trade IPC ${dataset} ${market} round-trips bit-identical, as views on the bytes`, () => {
      const batches = decode(dataset, market, 300, 128); // three batches, the last of 44 rows
      assert.equal(batches.length, 3);
      const bytes = encodeTradeIpc(batches, header(dataset, market));
      const decoded = decodeTradeIpc(bytes);
      assert.deepEqual(rawRows(decoded.batches), rawRows(batches));
      for (const batch of decoded.batches) {
        assert.equal(batch.schema, tradeSchemaOf(dataset));
        for (const d of batch.data.children) assert.equal(d.values.buffer, bytes.buffer); // zero-copy
      }
      const m = decoded.metadata;
      assert.equal(m.dataset, dataset);
      assert.equal(m.rows, 300);
      assert.equal(m.firstId, 1000);
      assert.equal(m.lastId, 1000 + 299 + 42);
      assert.equal(m.firstTime, DAY_MS * 1000);
      assert.equal(m.lastTime, (DAY_MS + 149 * 3) * 1000);
      assert.equal(m.visionSha256, "c".repeat(64));
      assert.deepEqual(decodeTradeIpcMetadata(bytes, { dataset }), m);
      // Nulls as the market prints them.
      const nulls = decoded.batches[0].data.children.map((d) => d.nullCount);
      const best = market === "spot" ? 0 : 128;
      if (dataset === "aggTrades") assert.deepEqual(nulls, [0, 0, 0, 0, 0, 0, 0, best]);
      else {
        const [quote, base] = market === "cm" ? [128, 0] : [0, 128];
        assert.deepEqual(nulls, [0, 0, 0, quote, base, 0, 0, best]);
      }
    });
  }
}

Deno.test("trade IPC files read back in arrow-js and Polars with nulls and booleans", () => {
  const batches = decode("trades", "cm", 20);
  const bytes = encodeTradeIpc(batches, header("trades", "cm"));
  const table = tableFromIPC(bytes);
  assert.equal(table.numRows, 20);
  assert.deepEqual(table.schema.fields.map((f) => String(f.type)), [
    "Int64",
    "Float64",
    "Float64",
    "Float64",
    "Float64",
    "Timestamp<MICROSECOND, UTC>",
    "Bool",
    "Bool",
  ]);
  const original = batches[0];
  for (const name of ["id", "price", "qty", "quote_qty", "base_qty", "time", "is_buyer_maker"]) {
    assert.deepEqual([...table.getChild(name)!], [...original.getChild(name)!], name);
  }
  assert.deepEqual([...table.getChild("is_best_match")!], new Array(20).fill(null));
  assert.equal(table.schema.metadata.get("dsm.first_time"), String(DAY_MS * 1000));
  assert.equal(table.schema.metadata.get("dsm.dataset"), "trades");
  const df = pl.readIPC(
    Buffer.from(encodeTradeIpc(decode("aggTrades", "spot", 10), header("aggTrades", "spot"))),
  );
  assert.deepEqual(df.shape, { height: 10, width: 8 });
  assert.equal(String(df.dtypes[5]), "DataType(Datetime(us,UTC))");
  assert.deepEqual(
    df.getColumn("is_buyer_maker").toArray(),
    Array.from({ length: 10 }, (_, i) => i % 3 === 0),
  );
  assert.deepEqual(
    df.getColumn("is_best_match").toArray(),
    Array.from({ length: 10 }, (_, i) => i % 5 !== 0),
  );
  const futures = pl.readIPC(
    Buffer.from(encodeTradeIpc(decode("aggTrades", "um", 9), header("aggTrades", "um"))),
  );
  assert.equal(futures.getColumn("is_best_match").nullCount(), 9);
});

Deno.test("encodeTradeIpc packs Bool columns sliced at any bit offset", () => {
  const [batch] = decode("aggTrades", "spot", 40);
  for (const [begin, end] of [[3, 40], [8, 29], [1, 2], [13, 13]]) {
    const slice = batch.slice(begin, end);
    const bytes = encodeTradeIpc([slice], header("aggTrades", "spot"));
    assert.deepEqual(rawRows(decodeTradeIpc(bytes).batches), rawRows([slice]), `${begin}..${end}`);
    assert.deepEqual([...tableFromIPC(bytes).getChild("is_buyer_maker") ?? []], [
      ...slice.getChild("is_buyer_maker")!,
    ]);
  }
});

Deno.test("encodeTradeIpc refuses ids out of order, times going back, other schemas and datasets", () => {
  const h = header("aggTrades", "um");
  const csv = (text: string) =>
    decodeTradeCsv(new TextEncoder().encode(text), { dataset: "aggTrades", market: "um" });
  // Equal times are fine (trades share microseconds); ids must increase.
  const same = csv(`1,1,1,1,1,${DAY_MS},true\n2,1,1,2,2,${DAY_MS},false\n`);
  assert.equal(decodeTradeIpc(encodeTradeIpc(same, h)).metadata.rows, 2);
  assert.throws(
    () => encodeTradeIpc([...same, ...same], h),
    /agg_trade_id 1 at row 2 does not follow 2/,
  );
  const back = csv(`1,1,1,1,1,${DAY_MS + 1},true\n2,1,1,2,2,${DAY_MS},false\n`);
  assert.throws(() => encodeTradeIpc(back, h), /transact_time .* at row 1 does not follow/);
  assert.throws(() => encodeTradeIpc(same, { ...h, dataset: "trades" }), TypeError);
  assert.throws(
    () => encodeTradeIpc(same, { ...h, dataset: "klines" as TradeDataset }),
    { code: "INVALID_DATASET" },
  );
  assert.throws(() => encodeTradeIpc([klineBatch(allocKlineColumns(1))], h), TypeError);
});

Deno.test("decodeTradeIpc detects truncation and flipped bytes anywhere", () => {
  const bytes = encodeTradeIpc(decode("trades", "spot", 50), header("trades", "spot"));
  for (const cut of [0, 7, 8, 100, bytes.length >> 1, bytes.length - 11, bytes.length - 1]) {
    assert.throws(() => decodeTradeIpc(bytes.slice(0, cut)), { code: "CACHE_ERROR" }, `cut ${cut}`);
  }
  // Every byte flipped in turn: an error or (in padding or unused footer bytes) the same rows.
  const expected = rawRows(decodeTradeIpc(bytes).batches);
  let caught = 0;
  for (let at = 0; at < bytes.length; at++) {
    const damaged = bytes.slice();
    damaged[at] ^= 0x5a;
    try {
      assert.deepEqual(rawRows(decodeTradeIpc(damaged).batches), expected, `byte ${at}`);
    } catch (error) {
      assert.equal((error as { code?: string }).code, "CACHE_ERROR", `byte ${at}: ${error}`);
      caught++;
    }
  }
  assert.ok(caught > bytes.length * 0.9, `${caught} of ${bytes.length}`);
});

Deno.test("decodeTradeIpc refuses another schema or dataset, and ids out of order in a file", () => {
  const agg = encodeTradeIpc(decode("aggTrades", "um", 5), header("aggTrades", "um"));
  assert.throws(() => decodeTradeIpc(agg, { dataset: "trades" }), /column 0 is "agg_trade_id"/);
  const kline = encodeKlineIpc([klineBatch(allocKlineColumns(1))], {
    market: "um",
    symbol: "BTCUSDT",
    interval: "1m",
    partition: "2024-01-01",
    source: "REST",
    writtenAt: 0,
  });
  assert.throws(() => decodeTradeIpc(kline), /the schema has 11 columns, expected 8/);
  assert.throws(() => decodeTradeIpcMetadata(kline, { dataset: "aggTrades", file: "k.arrow" }), {
    code: "CACHE_ERROR",
    path: "k.arrow",
  });
  // A file of the layout whose ids go back (written past the encoder's checks, CRCs valid).
  const row = (id: number) =>
    decodeTradeCsv(new TextEncoder().encode(`${id},1,1,1,1,${DAY_MS},true\n`), {
      dataset: "aggTrades",
      market: "um",
    });
  const rows = [...row(5), ...row(4)];
  const layout = partitionLayout(tradeSchemaOf("aggTrades"), "aggTrades", {
    time: "transact_time",
  });
  const meta = partitionMetadataToMap(
    { ...header("aggTrades", "um"), rows: 2, first: 5, last: 4, formatVersion: "1" },
    "agg_trade_id",
    [["dataset", "aggTrades"]],
  );
  meta.set("dsm.first_transact_time", String(DAY_MS * 1000));
  meta.set("dsm.last_transact_time", String(DAY_MS * 1000));
  const disordered = writePartitionFile(layout, rows, meta);
  assert.throws(() => decodeTradeIpc(disordered), /agg_trade_id 4 at row 1 does not follow 5/);
  // Metadata that does not match the rows.
  meta.set("dsm.last_transact_time", String(DAY_MS * 1000 + 1));
  meta.set("dsm.first_agg_trade_id", "4");
  meta.set("dsm.last_agg_trade_id", "5");
  const sorted = [...row(4), ...row(5)];
  assert.throws(
    () => decodeTradeIpc(writePartitionFile(layout, sorted, meta)),
    /transact_time spans .* metadata says/,
  );
});
