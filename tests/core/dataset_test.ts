import assert from "node:assert/strict";
import {
  datasetInfo,
  datasetPartitionPeriod,
  DATASETS,
  parseDataset,
  restWeight,
} from "../../src/core/dataset.ts";
import { MARKETS } from "../../src/core/market.ts";
import { validateSymbol } from "../../src/core/symbol.ts";

Deno.test("parseDataset accepts each dataset on its markets and refuses the rest with INVALID_DATASET", () => {
  for (const dataset of DATASETS) {
    for (const market of MARKETS) {
      if (datasetInfo(dataset).markets.includes(market)) {
        assert.equal(parseDataset(dataset, market), dataset);
      } else {
        assert.throws(() => parseDataset(dataset, market), {
          code: "INVALID_DATASET",
          name: "InvalidDatasetError",
          message: new RegExp(`"${dataset}": not published for ${market}`),
        });
      }
    }
  }
  for (const bad of ["", "Klines", "funding", "toString", "__proto__", 1, null]) {
    assert.throws(() => parseDataset(bad), { code: "INVALID_DATASET" }, String(bad));
  }
  assert.ok(parseDataset("klines", "spot"));
});

Deno.test("Dataset descriptors follow BINANCE.md section 4", () => {
  for (const d of ["markPriceKlines", "indexPriceKlines", "premiumIndexKlines"] as const) {
    const info = datasetInfo(d);
    assert.deepEqual(info.markets, ["um", "cm"]);
    assert.equal(info.series, "grid");
    assert.deepEqual(info.archivePeriods, ["daily", "monthly"]);
    assert.equal(info.restPaths.um, `/fapi/v1/${d}`);
    assert.equal(info.restPaths.cm, `/dapi/v1/${d}`);
    assert.equal(info.maxLimit.um, 1500);
    assert.deepEqual(info.columns, datasetInfo("klines").columns);
  }
  assert.equal(datasetInfo("indexPriceKlines").seriesParameter, "pair");
  assert.equal(datasetInfo("markPriceKlines").seriesParameter, "symbol");
  assert.deepEqual(DATASETS.filter((d) => datasetInfo(d).tradeVolumes), ["klines"]);
  const funding = datasetInfo("fundingRate");
  assert.equal(funding.series, "events");
  assert.deepEqual(funding.archivePeriods, ["monthly"]);
  assert.equal(funding.maxLimit.um, 1000);
  assert.deepEqual(funding.columns, [
    "funding_time",
    "funding_rate",
    "funding_interval_hours",
    "mark_price",
  ]);
  assert.equal(datasetPartitionPeriod("klines", "1w"), "month");
  assert.equal(datasetPartitionPeriod("premiumIndexKlines", "1m"), "day");
  assert.equal(datasetPartitionPeriod("fundingRate"), "month");
  assert.throws(() => datasetPartitionPeriod("klines"), TypeError);
  assert.equal(restWeight("indexPriceKlines", "cm", 99), 1);
  assert.equal(restWeight("indexPriceKlines", "cm", 1000), 5);
});

Deno.test("validateSymbol with pair naming: index prices are named by pair, with a hint from a contract", () => {
  assert.equal(validateSymbol("BTCUSDT", "um", "pair"), "BTCUSDT");
  assert.equal(validateSymbol("ethusd", "cm", "pair"), "ETHUSD");
  assert.throws(() => validateSymbol("BTCUSD_PERP", "cm", "pair"), {
    code: "INVALID_SYMBOL",
    message: /index prices are named by pair, like BTCUSD; did you mean BTCUSD\?/,
  });
  assert.throws(() => validateSymbol("BTCUSDT_250627", "um", "pair"), /did you mean BTCUSDT\?/);
  assert.throws(() => validateSymbol("BTCUSDT", "cm", "pair"), { code: "INVALID_SYMBOL" });
  assert.throws(() => validateSymbol("../x", "cm", "pair"), { code: "INVALID_SYMBOL" });
});
