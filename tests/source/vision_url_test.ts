import assert from "node:assert/strict";
import { type Interval, INTERVALS } from "../../src/core/interval.ts";
import { MARKETS } from "../../src/core/market.ts";
import { visionFile, visionFileUrl, visionListingPrefix } from "../../src/source/vision_url.ts";

const PATHS = { spot: "spot", um: "futures/um", cm: "futures/cm" } as const;
const SYMBOLS = { spot: "BTCUSDT", um: "BTCUSDT", cm: "BTCUSD_PERP" } as const;
const MONTHLY_ONLY: Interval[] = ["3d", "1w", "1M"];

Deno.test("visionFileUrl matches the documented cm example", () => {
  assert.equal(
    visionFileUrl(undefined, {
      market: "cm",
      symbol: "BTCUSD_PERP",
      interval: "1m",
      period: "daily",
      date: "2023-12-01",
    }),
    "https://data.binance.vision/data/futures/cm/daily/klines/BTCUSD_PERP/1m/BTCUSD_PERP-1m-2023-12-01.zip",
  );
});

Deno.test("visionFile names every market, period and interval", () => {
  let count = 0;
  for (const market of MARKETS) {
    const symbol = SYMBOLS[market];
    for (const interval of INTERVALS) {
      if (interval === "1s" && market !== "spot") continue;
      const name = interval === "1M" ? "1mo" : interval;
      const monthly = visionFile("http://127.0.0.1:9/", {
        market,
        symbol,
        interval,
        period: "monthly",
        date: "2024-01",
      });
      const key = `data/${
        PATHS[market]
      }/monthly/klines/${symbol}/${name}/${symbol}-${name}-2024-01.zip`;
      assert.deepEqual(monthly, {
        zipName: `${symbol}-${name}-2024-01.zip`,
        csvName: `${symbol}-${name}-2024-01.csv`,
        key,
        url: `http://127.0.0.1:9/${key}`,
        checksumUrl: `http://127.0.0.1:9/${key}.CHECKSUM`,
      });
      count++;
      if (MONTHLY_ONLY.includes(interval)) continue;
      const daily = visionFile(undefined, {
        market,
        symbol,
        interval,
        period: "daily",
        date: "2025-02-28",
      });
      assert.equal(
        daily.url,
        `https://data.binance.vision/data/${
          PATHS[market]
        }/daily/klines/${symbol}/${name}/${symbol}-${name}-2025-02-28.zip`,
      );
      count++;
    }
  }
  assert.equal(count, 16 + 13 + 15 + 12 + 15 + 12);
});

Deno.test("visionFile accepts Vision's 1mo spelling of 1M", () => {
  const file = visionFile(undefined, {
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1mo" as Interval,
    period: "monthly",
    date: "2017-08",
  });
  assert.equal(file.zipName, "BTCUSDT-1mo-2017-08.zip");
});

Deno.test("visionListingPrefix gives the S3 prefix of a period", () => {
  const series = { market: "um" as const, symbol: "ETHUSDT", interval: "1h" as const };
  assert.equal(visionListingPrefix(series, "daily"), "data/futures/um/daily/klines/ETHUSDT/1h/");
  assert.equal(
    visionListingPrefix(series, "monthly"),
    "data/futures/um/monthly/klines/ETHUSDT/1h/",
  );
});

Deno.test("visionFile rejects misuse before any I/O", () => {
  const ok = {
    market: "spot" as const,
    symbol: "BTCUSDT",
    interval: "1m" as Interval,
    period: "daily" as const,
    date: "2024-01-01",
  };
  assert.throws(() => visionFile(undefined, { ...ok, market: "margin" as "spot" }), {
    code: "INVALID_MARKET",
  });
  assert.throws(() => visionFile(undefined, { ...ok, symbol: "../etc" }), {
    code: "INVALID_SYMBOL",
  });
  assert.throws(() => visionFile(undefined, { ...ok, symbol: "btcusdt" }), {
    code: "INVALID_SYMBOL",
  });
  assert.throws(() => visionFile(undefined, { ...ok, market: "um", interval: "1s" }), {
    code: "INVALID_INTERVAL",
  });
  assert.throws(() => visionFile(undefined, { ...ok, interval: "2m" as Interval }), {
    code: "INVALID_INTERVAL",
  });
  for (const interval of MONTHLY_ONLY) {
    assert.throws(() => visionFile(undefined, { ...ok, interval }), /has monthly files only/);
  }
  for (const date of ["2024-02-30", "2024-1-01", "2024-01", "2024-01-01T00:00Z", ""]) {
    assert.throws(() => visionFile(undefined, { ...ok, date }), { code: "INVALID_TIME" });
  }
  for (const date of ["2024-13", "2024-01-01", "24-01"]) {
    assert.throws(() => visionFile(undefined, { ...ok, period: "monthly", date }), {
      code: "INVALID_TIME",
    });
  }
  assert.throws(() => visionFile(undefined, { ...ok, period: "weekly" as "daily" }), TypeError);
  assert.doesNotThrow(() => visionFile(undefined, { ...ok, date: "2024-02-29" }));
});

Deno.test("visionFile keeps a non-ASCII symbol plain in the key and percent-encodes it in the URL", () => {
  const symbol = "币安人生USDT";
  const enc = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT";
  const ref = {
    market: "spot",
    symbol,
    interval: "1d",
    period: "monthly",
    date: "2025-12",
  } as const;
  const file = visionFile("http://127.0.0.1:8080", ref);
  assert.equal(file.zipName, `${symbol}-1d-2025-12.zip`);
  assert.equal(file.csvName, `${symbol}-1d-2025-12.csv`);
  assert.equal(file.key, `data/spot/monthly/klines/${symbol}/1d/${symbol}-1d-2025-12.zip`);
  assert.equal(
    file.url,
    `http://127.0.0.1:8080/data/spot/monthly/klines/${enc}/1d/${enc}-1d-2025-12.zip`,
  );
  assert.equal(file.checksumUrl, `${file.url}.CHECKSUM`);
  assert.match(file.url, /^[\x21-\x7e]+$/); // ASCII only
  assert.equal(
    new URL(file.url).pathname,
    `/${file.key.split("/").map(encodeURIComponent).join("/")}`,
  );
  assert.equal(decodeURIComponent(new URL(file.url).pathname), `/${file.key}`);
  assert.equal(
    visionListingPrefix({ market: "spot", symbol, interval: "1s" }, "daily"),
    `data/spot/daily/klines/${symbol}/1s/`,
  );
  // ASCII symbols are unchanged by the encoding
  assert.ok(
    visionFileUrl(undefined, { ...ref, symbol: "BTCUSDT" }).includes("/BTCUSDT-1d-2025-12"),
  );
});

Deno.test("visionFile accepts only canonical symbols, non-ASCII on spot only", () => {
  const ref = { market: "spot", interval: "1d", period: "daily", date: "2025-12-01" } as const;
  for (
    const [market, symbol] of [
      ["spot", "币安人生usdt"], // not upper case: validateSymbol gives the canonical form
      ["spot", "A\u0308BCUSDT"], // NFD, not NFC
      ["spot", "币安/USDT"],
      ["spot", "币安%2FUSDT"],
      ["spot", "btcuſdt"],
      ["um", "币安人生USDT"],
      ["cm", "币安人生USD_PERP"],
    ] as const
  ) {
    assert.throws(() => visionFile(undefined, { ...ref, market, symbol }), {
      code: "INVALID_SYMBOL",
    }, symbol);
  }
  assert.ok(visionFile(undefined, { ...ref, symbol: "\u00c4BCUSDT" }).url.includes("%C3%84BCUSDT"));
});
