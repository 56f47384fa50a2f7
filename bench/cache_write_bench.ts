/**
 * Encoding one cache partition file: the module's fixed-layout Arrow IPC
 * writer (`encodeKlineIpc`, FlatBuffers headers, column values copied into
 * the body) against arrow-js `tableToIPC(table, "file")` of the same batch
 * with the same schema metadata, on a 1m day (1,440 rows) and a 1s day
 * (86,400 rows). The module's files carry the CRC-32 of their record batch
 * bytes in the footer metadata; arrow-js can only add it by encoding twice
 * (once to learn the body, once with its CRC), which is the third line.
 * Every output is read back once before timing and compared, value for
 * value, with the batch it was encoded from.
 *
 * Run: `deno run -A --config bench/deno.json bench/cache_write_bench.ts [rounds]`
 *
 * @module
 */
import assert from "node:assert/strict";
import { Schema, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { crc32 } from "node:zlib";
import { decodeKlineIpc, encodeKlineIpc } from "../src/codec/kline_ipc.ts";
import { metadataToMap } from "../src/codec/_kline_ipc_metadata.ts";
import { allocKlineColumns, KLINE_COLUMN_KEYS, klineBatch } from "../src/core/schema.ts";
import type { KlineIpcHeader } from "../src/codec/_kline_ipc_metadata.ts";

const rounds = Number(Deno.args[0] ?? 200);

function dayBatch(rows: number, step: number) {
  const c = allocKlineColumns(rows);
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) {
    const t = start + i * step;
    const p = Math.round((20_000 + (i % 977)) * 100) / 100;
    c.openTime[i] = t;
    c.closeTime[i] = t + step - 1;
    c.open[i] = p;
    c.high[i] = p + 1.5;
    c.low[i] = p - 1.25;
    c.close[i] = p + 0.01;
    c.volume[i] = (i % 500) / 7;
    c.quoteAssetVolume[i] = c.volume[i] * p;
    c.count[i] = i;
    c.takerBuyVolume[i] = c.volume[i] / 2;
    c.takerBuyQuoteVolume[i] = c.quoteAssetVolume[i] / 2;
  }
  return klineBatch(c);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const lines: string[] = [];
for (
  const [label, rows, step, interval] of [
    ["1m day", 1440, 60_000, "1m"],
    ["1s day", 86_400, 1_000, "1s"],
  ] as const
) {
  const batch = dayBatch(rows, step);
  const header: KlineIpcHeader = {
    market: "spot",
    symbol: "BTCUSDT",
    interval,
    partition: "2024-01-01",
    source: "VISION",
    visionSha256: "0".repeat(64),
    writtenAt: Date.UTC(2024, 0, 2),
  };
  const own = () => encodeKlineIpc([batch], header);
  // arrow-js: the same batch under a schema carrying the same metadata.
  const map = metadataToMap({
    ...header,
    gaps: [],
    rows,
    firstOpenTime: batch.getChildAt(0)!.get(0) as number,
    lastOpenTime: batch.getChildAt(0)!.get(rows - 1) as number,
    formatVersion: "1",
  });
  const schema = new Schema(batch.schema.fields, map);
  const viaArrowJs = () => tableToIPC(new Table(schema, [batch]), "file");
  const viaArrowJsWithCrc = () => {
    const first = tableToIPC(new Table(schema, [batch]), "file");
    const withCrc = new Map(map).set("dsm.body_crc32", crc32(first).toString(16));
    return tableToIPC(new Table(new Schema(batch.schema.fields, withCrc), [batch]), "file");
  };

  // The batch's rows and the metadata from every encoder, checked once before timing.
  const a = decodeKlineIpc(own());
  const b = tableFromIPC(viaArrowJs());
  const c = tableFromIPC(viaArrowJsWithCrc());
  assert.equal(a.batches.reduce((n, x) => n + x.numRows, 0), rows);
  for (const t of [b, c]) assert.equal(t.numRows, rows);
  for (const [i, key] of KLINE_COLUMN_KEYS.entries()) {
    const want = [...batch.getChildAt(i)!.toArray()];
    assert.deepEqual([...a.batches[0].getChildAt(i)!.toArray()], want, `own ${key}`);
    assert.deepEqual([...b.getChildAt(i)!.toArray()], want, `arrow-js ${key}`);
    assert.deepEqual([...c.getChildAt(i)!.toArray()], want, `arrow-js with CRC ${key}`);
  }
  assert.equal(b.schema.metadata.get("dsm.source"), "VISION");
  assert.ok(c.schema.metadata.get("dsm.body_crc32"));

  const times = { own: [] as number[], arrowJs: [] as number[], arrowJsCrc: [] as number[] };
  const contenders = [
    ["own", own],
    ["arrowJs", viaArrowJs],
    ["arrowJsCrc", viaArrowJsWithCrc],
  ] as const;
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of contenders) {
      const t0 = performance.now();
      f();
      times[name].push(performance.now() - t0);
    }
  }
  const o = median(times.own);
  const j = median(times.arrowJs);
  const k = median(times.arrowJsCrc);
  lines.push(
    `${label}: own writer (checks, CRC) ${o.toFixed(3)} ms; arrow-js tableToIPC ` +
      `${j.toFixed(3)} ms (${(j / o).toFixed(2)}x), with the body CRC (two passes) ` +
      `${k.toFixed(3)} ms (${(k / o).toFixed(2)}x); ${rounds} rounds, medians`,
  );
}
console.log(`${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`);
for (const line of lines) console.log(line);
