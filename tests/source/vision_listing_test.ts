import assert from "node:assert/strict";
import { HttpError, NetworkError } from "../../src/core/errors.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { listVisionFiles, parseListBucketResult } from "../../src/source/vision_listing.ts";

const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const escapeXml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");

interface StubOptions {
  pageSize?: number;
  nextMarker?: boolean;
  /** Answers instead of the listing when it returns a Response. */
  fault?: (url: URL, call: number, req: Request) => Response | Promise<Response> | undefined;
}

/** A small S3 ListObjects v1 server over a fixed, sorted key set. */
function s3Stub(keys: string[], options: StubOptions = {}) {
  const sorted = [...keys].sort();
  const requests: URL[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    requests.push(url);
    const fault = await options.fault?.(url, requests.length, req);
    if (fault) return fault;
    const prefix = url.searchParams.get("prefix") ?? "";
    const marker = url.searchParams.get("marker") ?? "";
    const entries: { key?: string; prefix?: string }[] = [];
    for (const key of sorted) {
      if (!key.startsWith(prefix) || key <= marker) continue;
      const slash = key.indexOf("/", prefix.length);
      if (slash < 0) entries.push({ key });
      else {
        const common = key.slice(0, slash + 1);
        if (common > marker && entries.at(-1)?.prefix !== common) entries.push({ prefix: common });
      }
    }
    const size = options.pageSize ?? 1000;
    const page = entries.slice(0, size);
    const truncated = entries.length > size;
    const last = page.at(-1);
    const body = [
      `<?xml version="1.0" encoding="UTF-8"?>\n`,
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`,
      `<Name>data.binance.vision</Name><Prefix>${escapeXml(prefix)}</Prefix>`,
      `<Marker>${escapeXml(marker)}</Marker><MaxKeys>${size}</MaxKeys><Delimiter>/</Delimiter>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      truncated && options.nextMarker
        ? `<NextMarker>${escapeXml(last?.key ?? last?.prefix ?? "")}</NextMarker>`
        : "",
      ...page.map((e) =>
        e.key !== undefined
          ? `<Contents><Key>${
            escapeXml(e.key)
          }</Key><LastModified>2024-01-02T00:00:00.000Z</LastModified>` +
            `<ETag>&quot;abc&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>`
          : `<CommonPrefixes><Prefix>${escapeXml(e.prefix!)}</Prefix></CommonPrefixes>`
      ),
      `</ListBucketResult>`,
    ].join("");
    return new Response(body, { headers: { "content-type": "application/xml" } });
  });
  return {
    requests,
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function dailyKeys(symbol: string, interval: string, days: number, start = Date.UTC(2020, 0, 1)) {
  const prefix = `data/spot/daily/klines/${symbol}/${interval}/`;
  const keys: string[] = [];
  for (let d = 0; d < days; d++) {
    const date = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
    keys.push(`${prefix}${symbol}-${interval}-${date}.zip`);
    keys.push(`${prefix}${symbol}-${interval}-${date}.zip.CHECKSUM`);
  }
  return keys;
}

function monthlyKeys(symbol: string, interval: string, months: string[], market = "spot") {
  const prefix = `data/${market}/monthly/klines/${symbol}/${interval}/`;
  return months.flatMap((m) => [
    `${prefix}${symbol}-${interval}-${m}.zip`,
    `${prefix}${symbol}-${interval}-${m}.zip.CHECKSUM`,
  ]);
}

Deno.test("parseListBucketResult reads keys, prefixes, markers and entities", () => {
  const page = parseListBucketResult(
    `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment -->\n` +
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n` +
      `  <Name>b</Name><Prefix/><IsTruncated> true </IsTruncated>\n` +
      `  <NextMarker>k&#47;2&#x2F;</NextMarker>\n` +
      `  <Contents><Key>a&amp;b&lt;&gt;&quot;&apos;.zip</Key><Size>1</Size></Contents>\n` +
      `  <Contents><Key><![CDATA[c&d.zip]]></Key></Contents>\n` +
      `  <CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>\n` +
      `</ListBucketResult>\n`,
  );
  assert.deepEqual(page, {
    keys: [`a&b<>"'.zip`, "c&d.zip"],
    prefixes: ["dir/"],
    isTruncated: true,
    nextMarker: "k/2/",
  });
});

Deno.test("parseListBucketResult rejects malformed XML with a NetworkError", () => {
  const ok = "<ListBucketResult><IsTruncated>false</IsTruncated>";
  const bad: [string, RegExp][] = [
    ["", /no root element/],
    [ok, /unclosed element "<ListBucketResult>"/],
    [ok + "<Contents><Key>a</Contents></ListBucketResult>", /unexpected end tag/],
    [ok + "<Contents><Key>a&b</Key></Contents></ListBucketResult>", /a bare '&'/],
    [ok + "<Contents><Key>a&nbsp;</Key></Contents></ListBucketResult>", /&nbsp;/],
    [ok + "<Contents><Key>&#x110000;</Key></Contents></ListBucketResult>", /&#x110000;/],
    [ok + "</ListBucketResult>junk", /text outside the root/],
    [ok + "</ListBucketResult><ListBucketResult/>", /a second root/],
    [ok + "<Contents><Key", /unterminated start tag/],
    [ok + "<Contents><Key>a</Key", /unterminated end tag/],
    [ok + "<!-- x", /unterminated comment/],
    [ok + "<Contents></Contents></ListBucketResult>", /Contents without Key/],
    ["<ListBucketResult></ListBucketResult>", /IsTruncated is undefined/],
    ["<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>", /"yes"/],
    ["<Error><Code>AccessDenied</Code></Error>", /root element "<Error>"/],
    ["<1bad/>", /malformed tag/],
  ];
  for (const [xml, message] of bad) {
    assert.throws(() => parseListBucketResult(xml, "http://x/"), (error: unknown) => {
      assert.ok(error instanceof NetworkError, xml);
      assert.equal(error.code, "NETWORK_ERROR");
      assert.match(error.message, /^Cannot list http:\/\/x\/: malformed listing XML/);
      assert.match(error.message, message, xml);
      return true;
    });
  }
});

Deno.test("listVisionFiles follows pages past 1000 keys using NextMarker", async () => {
  const keys = [
    ...dailyKeys("BTCUSDT", "1m", 1200, Date.UTC(2020, 0, 1)),
    ...monthlyKeys("BTCUSDT", "1m", ["2019-12", "2020-01", "2020-02"]),
    ...dailyKeys("BTCUSDT", "5m", 3), // another interval: other prefix
  ];
  await using stub = s3Stub(keys, { nextMarker: true });
  const { requests, url } = stub;
  const listing = await listVisionFiles(
    { market: "spot", symbol: "BTCUSDT", interval: "1m" },
    { listingUrl: url },
  );
  assert.equal(listing.daily.size, 1200);
  assert.equal(listing.dailyChecksums.size, 1200);
  assert.deepEqual([...listing.monthly], ["2019-12", "2020-01", "2020-02"]);
  assert.equal(listing.first, "2019-12-01");
  assert.equal(listing.last, "2023-04-14");
  assert.ok(listing.daily.has("2020-01-01") && listing.daily.has("2023-04-14"));
  const daily = requests.filter((u) => u.searchParams.get("prefix")!.includes("/daily/"));
  assert.equal(daily.length, 3);
  assert.equal(daily[0].searchParams.get("delimiter"), "/");
  assert.equal(daily[0].searchParams.get("marker"), null);
  assert.match(daily[1].searchParams.get("marker")!, /BTCUSDT-1m-2021-05-14\.zip\.CHECKSUM$/);
});

Deno.test("listVisionFiles continues from the last key when NextMarker is absent", async () => {
  const keys = [
    ...dailyKeys("BTCUSDT", "1h", 30, Date.UTC(2024, 0, 1)),
    `data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01-31.zip`, // zip without its CHECKSUM
    `data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02-01.zip.CHECKSUM`, // the reverse
    `data/spot/daily/klines/BTCUSDT/1h/README.txt`,
    `data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02-02.zip.tmp`,
    `data/spot/daily/klines/BTCUSDT/1h/ETHUSDT-1h-2024-02-02.zip`,
    `data/spot/daily/klines/BTCUSDT/1h/sub/BTCUSDT-1h-2024-02-03.zip`, // a common prefix
  ];
  await using stub = s3Stub(keys, { pageSize: 7 });
  const listing = await listVisionFiles(
    { market: "spot", symbol: "BTCUSDT", interval: "1h" },
    { listingUrl: stub.url + "/" },
  );
  assert.equal(listing.daily.size, 31);
  assert.ok(listing.daily.has("2024-01-31"));
  assert.ok(!listing.dailyChecksums.has("2024-01-31"));
  assert.ok(!listing.daily.has("2024-02-01"));
  assert.ok(listing.dailyChecksums.has("2024-02-01"));
  assert.equal(listing.monthly.size, 0);
  assert.equal(listing.first, "2024-01-01");
  assert.equal(listing.last, "2024-01-31");
  const daily = stub.requests.filter((u) => u.searchParams.get("prefix")!.includes("/daily/"));
  assert.equal(daily.length, Math.ceil((60 + 6) / 7));
  for (const url of daily) assert.equal(url.pathname, "/");
});

Deno.test("listVisionFiles lists only monthly files for 3d, 1w and 1M", async () => {
  const keys = monthlyKeys("BTCUSD_PERP", "1mo", ["2020-08", "2024-02"], "futures/cm");
  await using stub = s3Stub(keys);
  const listing = await listVisionFiles(
    { market: "cm", symbol: "BTCUSD_PERP", interval: "1M" },
    { listingUrl: stub.url },
  );
  assert.deepEqual([...listing.monthly], ["2020-08", "2024-02"]);
  assert.deepEqual([...listing.monthlyChecksums], ["2020-08", "2024-02"]);
  assert.equal(listing.first, "2020-08-01");
  assert.equal(listing.last, "2024-02-29");
  assert.equal(stub.requests.length, 1);
  assert.equal(
    stub.requests[0].searchParams.get("prefix"),
    "data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/",
  );
});

Deno.test("listVisionFiles of an unknown symbol is empty", async () => {
  await using stub = s3Stub([]);
  const listing = await listVisionFiles(
    { market: "um", symbol: "NOPEUSDT", interval: "1d" },
    { listingUrl: stub.url },
  );
  assert.equal(listing.daily.size + listing.monthly.size, 0);
  assert.equal(listing.first, undefined);
  assert.equal(listing.last, undefined);
});

Deno.test("listVisionFiles retries 5xx and truncated XML, then succeeds", async () => {
  const keys = dailyKeys("BTCUSDT", "1d", 5);
  await using stub = s3Stub(keys, {
    fault: (url, call) => {
      if (!url.searchParams.get("prefix")!.includes("/daily/")) return undefined;
      if (call <= 2) return new Response("SlowDown", { status: 503 });
      if (call <= 4) return new Response("<ListBucketResult><IsTruncated>false</IsTrunc");
      return undefined;
    },
  });
  const listing = await listVisionFiles(
    { market: "spot", symbol: "BTCUSDT", interval: "1d" },
    { listingUrl: stub.url, retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 } },
  );
  assert.equal(listing.daily.size, 5);
});

Deno.test("listVisionFiles gives up with HttpError or NetworkError", async () => {
  const series = { market: "spot" as const, symbol: "BTCUSDT", interval: "1d" as const };
  {
    await using stub = s3Stub([], { fault: () => new Response("no", { status: 500 }) });
    await assert.rejects(listVisionFiles(series, { listingUrl: stub.url, retry: FAST }), {
      name: "HttpError",
      status: 500,
    });
    assert.equal(stub.requests.length, 6); // both prefixes, 3 attempts each
  }
  {
    await using stub = s3Stub([], {
      fault: (url) =>
        url.searchParams.get("prefix")!.includes("/daily/")
          ? new Response("<Error><Code>AccessDenied</Code></Error>", { status: 403 })
          : undefined,
    });
    await assert.rejects(
      listVisionFiles(series, { listingUrl: stub.url, retry: FAST }),
      (error) => error instanceof HttpError && error.status === 403,
    );
    assert.equal(stub.requests.filter((u) => u.search.includes("daily")).length, 1);
  }
  {
    await using stub = s3Stub([], { fault: () => new Response("<ListBucketResult>") });
    await assert.rejects(listVisionFiles(series, { listingUrl: stub.url, retry: FAST }), {
      name: "NetworkError",
      message: /malformed listing XML/,
    });
  }
  {
    const stuck = `<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>`;
    await using stub = s3Stub([], { fault: () => new Response(stuck) });
    await assert.rejects(listVisionFiles(series, { listingUrl: stub.url, retry: FAST }), {
      name: "NetworkError",
      message: /gives no marker to go on/,
    });
  }
});

Deno.test("listVisionFiles rejects misuse before any request", async () => {
  await assert.rejects(
    listVisionFiles({ market: "um", symbol: "BTCUSDT", interval: "1s" }, {
      listingUrl: "http://127.0.0.1:9",
    }),
    { code: "INVALID_INTERVAL" },
  );
});

Deno.test("listVisionFiles stops promptly on abort with the signal's reason", async () => {
  const { promise: arrived, resolve: onArrive } = Promise.withResolvers<void>();
  const hold = Promise.withResolvers<void>();
  await using stub = s3Stub([], {
    fault: () => {
      onArrive();
      return hold.promise.then(() => new Response(""));
    },
  });
  const controller = new AbortController();
  const listing = listVisionFiles(
    { market: "spot", symbol: "BTCUSDT", interval: "1m" },
    { listingUrl: stub.url, signal: controller.signal },
  );
  await arrived;
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(listing, (error) => error === reason);
  hold.resolve(); // lets the server shut down
});

Deno.test("listVisionFiles against the emulator: 8 years of daily files, many pages", async () => {
  await using emu = await startEmulator({
    now: Date.UTC(2025, 5, 15, 12),
    missingFiles: ["BTCUSDT-1d-2021-03-03.zip"],
    publicationLagDays: 2,
  });
  const listing = await listVisionFiles(
    { market: "spot", symbol: "BTCUSDT", interval: "1d" },
    { listingUrl: emu.url },
  );
  assert.equal(listing.first, "2017-08-17");
  assert.equal(listing.last, "2025-06-12");
  const days = (Date.UTC(2025, 5, 12) - Date.UTC(2017, 7, 17)) / 86_400_000 + 1;
  assert.equal(listing.daily.size, days - 1);
  assert.ok(!listing.daily.has("2021-03-03"));
  assert.equal(listing.dailyChecksums.size, days - 1);
  assert.equal(listing.monthly.size, 12 * 7 + 5 + 5); // 2017-08 .. 2025-05
  assert.ok(emu.stats.requests.listing >= Math.ceil((2 * days) / 1000) + 1);
  const cm = await listVisionFiles(
    { market: "cm", symbol: "BTCUSD_PERP", interval: "1w" },
    { listingUrl: emu.url },
  );
  assert.equal(cm.daily.size, 0);
  assert.equal(cm.first, "2020-08-01");
  assert.equal(cm.last, "2025-05-31");
});

Deno.test("listVisionFiles from/to lists only the span of interest, in few pages", async () => {
  await using emu = await startEmulator({ now: Date.UTC(2025, 5, 15, 12) });
  const series = { market: "spot", symbol: "BTCUSDT", interval: "1d" } as const;
  const full = await listVisionFiles(series, { listingUrl: emu.url });
  const before = emu.stats.requests.listing;
  const span = await listVisionFiles(series, {
    listingUrl: emu.url,
    from: "2024-02-27",
    to: "2024-03-02",
  });
  // One page per period: daily from the marker, monthly from the marker.
  assert.equal(emu.stats.requests.listing - before, 2);
  for (const day of ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"]) {
    assert.ok(span.daily.has(day) && span.dailyChecksums.has(day), day);
  }
  assert.ok(!span.daily.has("2024-02-26"));
  assert.ok(span.monthly.has("2024-02") && !span.monthly.has("2024-01"));
  for (const day of span.daily) assert.ok(full.daily.has(day));
  assert.ok(span.daily.size < full.daily.size);
});

Deno.test("listVisionFiles rejects a malformed from or to before any request", async () => {
  const fetch = () => Promise.reject(new Error("no request expected"));
  for (const bad of [{ from: "2024-1-1" }, { to: "2024-01" }, { from: "yesterday" }]) {
    await assert.rejects(
      listVisionFiles(
        { market: "spot", symbol: "BTCUSDT", interval: "1m" },
        { ...bad, fetch, listingUrl: "http://127.0.0.1:9" },
      ),
      TypeError,
    );
  }
});

Deno.test("listVisionFiles percent-encodes a non-ASCII prefix and matches UTF-8 keys", async () => {
  const symbol = "币安人生USDT";
  const keys = [
    ...dailyKeys(symbol, "1h", 1100, Date.UTC(2025, 9, 1)),
    ...monthlyKeys(symbol, "1h", ["2025-10", "2025-11"]),
    ...dailyKeys("币安USDT", "1h", 3, Date.UTC(2025, 9, 1)), // a symbol sharing the first characters
    ...dailyKeys("BTCUSDT", "1h", 3, Date.UTC(2025, 9, 1)),
  ];
  await using stub = s3Stub(keys, { nextMarker: true });
  const listing = await listVisionFiles(
    { market: "spot", symbol, interval: "1h" },
    { listingUrl: stub.url },
  );
  assert.equal(listing.daily.size, 1100);
  assert.equal(listing.dailyChecksums.size, 1100);
  assert.deepEqual([...listing.monthly], ["2025-10", "2025-11"]);
  assert.equal(listing.first, "2025-10-01");
  const daily = stub.requests.filter((u) => u.searchParams.get("prefix")!.includes("/daily/"));
  assert.equal(daily.length, 3); // 2200 keys: the markers (UTF-8 keys) carried pages 2 and 3
  for (const url of stub.requests) {
    assert.match(url.search, /prefix=data\/spot\/(daily|monthly)\/klines\/%E5%B8%81%E5%AE%89/);
  }
  assert.equal(daily[0].searchParams.get("prefix"), `data/spot/daily/klines/${symbol}/1h/`);
  assert.ok(daily[1].searchParams.get("marker")!.startsWith(`data/spot/daily/klines/${symbol}/`));
});
