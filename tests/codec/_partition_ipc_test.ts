import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  allocKlineColumns,
  KLINE_COLUMN_KEYS,
  KLINE_SCHEMA,
  klineBatch,
} from "../../src/core/schema.ts";
import { FUNDING_SCHEMA } from "../../src/core/funding_schema.ts";
import { encodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import { partitionLayout } from "../../src/codec/_partition_ipc.ts";
import {
  partitionMetadataFromMap,
  partitionMetadataToMap,
} from "../../src/codec/_partition_metadata.ts";

const DAY = Date.UTC(2024, 0, 1);

function minutes(start: number, n: number) {
  const c = allocKlineColumns(n);
  for (let i = 0; i < n; i++) {
    KLINE_COLUMN_KEYS.forEach((k, j) => (c[k][i] = (i * 31 + j * 7) / 8 - 100));
    c.openTime[i] = start + i * 60_000;
    c.closeTime[i] = start + i * 60_000 + 59_999;
    c.count[i] = i * 1_000_003;
  }
  return klineBatch(c, n, "VISION");
}

Deno.test("kline partition files stay byte-identical to those written before nullable columns", () => {
  // SHA-256 of this file as the writer of format version 1 wrote it before
  // the shared partition code and validity bitmaps existed.
  const bytes = encodeKlineIpc(
    [minutes(DAY, 700), minutes(DAY + 700 * 60_000, 0), minutes(DAY + 700 * 60_000, 740)],
    {
      market: "spot",
      symbol: "BTCUSDT",
      interval: "1m",
      partition: "2024-01-01",
      source: "VISION",
      visionSha256: "c".repeat(64),
      writtenAt: Date.UTC(2024, 0, 2),
      gaps: [{ start: DAY + 1439 * 60_000, end: DAY + 1440 * 60_000 }],
      anomalies: { total: 1, items: [{ kind: "zero_volume", openTime: DAY, detail: "volume 0" }] },
    },
  );
  assert.equal(bytes.length, 130394);
  assert.equal(
    createHash("sha256").update(bytes).digest("hex"),
    "19f0ac27b0d6704291e5248b7136e2e641b64a90ada06cd9afa25fc6ffc6b98c",
  );
});

Deno.test("partitionLayout describes the kline and funding schemas for the reader and writer", () => {
  const klines = partitionLayout(KLINE_SCHEMA, "klines");
  assert.equal(klines.read, undefined);
  assert.ok(klines.fields.every((f) => !("nullable" in f)));
  const funding = partitionLayout(FUNDING_SCHEMA, "funding rates");
  assert.deepEqual(funding.read, { nullable: [false, false, true, true] });
  assert.deepEqual(funding.fields, [
    { name: "funding_time", typeId: 10, param: 1, flag: true, timezone: "UTC" },
    { name: "funding_rate", typeId: 3, param: 2, flag: false, timezone: undefined },
    {
      name: "funding_interval_hours",
      typeId: 2,
      param: 64,
      flag: true,
      timezone: undefined,
      nullable: true,
    },
    { name: "mark_price", typeId: 3, param: 2, flag: false, timezone: undefined, nullable: true },
  ]);
});

Deno.test("partition metadata keeps the kline key order and checks what every file needs", () => {
  const m = {
    market: "um",
    symbol: "BTCUSDT",
    partition: "2024-01",
    source: "VISION" as const,
    visionSha256: "ab",
    writtenAt: Date.UTC(2024, 1, 1),
    rows: 2,
    first: 10,
    last: 20,
    formatVersion: "1",
  };
  const map = partitionMetadataToMap(m, "open_time", [["interval", "1h"]]);
  assert.deepEqual([...map.keys()], [
    "dsm.format_version",
    "dsm.source",
    "dsm.market",
    "dsm.symbol",
    "dsm.interval",
    "dsm.partition",
    "dsm.rows",
    "dsm.written_at",
    "dsm.vision_sha256",
    "dsm.first_open_time",
    "dsm.last_open_time",
  ]);
  assert.deepEqual(partitionMetadataFromMap(map, "open_time", ["interval"]), {
    metadata: m,
    values: ["1h"],
  });
  const without = (key: string) => new Map([...map].filter(([k]) => k !== key));
  const cases: [Map<string, string>, RegExp][] = [
    [without("dsm.format_version"), /"dsm.format_version" is missing/],
    [new Map([...map, ["dsm.format_version", "2"]]), /format version "2" is not "1"/],
    [new Map([...map, ["dsm.source", "CACHE"]]), /source "CACHE" is unknown/],
    [new Map([...map, ["dsm.written_at", "soon"]]), /written_at "soon" is not a date/],
    [new Map([...map, ["dsm.rows", "2.5"]]), /"dsm.rows" is "2.5"/],
    [without("dsm.last_open_time"), /first and last open_time do not fit rows/],
    [without("dsm.interval"), /"dsm.interval" is missing/],
    [without("dsm.partition"), /"dsm.partition" is missing/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => partitionMetadataFromMap(bad, "open_time", ["interval"], "f"), message);
  }
});
