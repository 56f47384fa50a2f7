import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { get, NOW } from "./_helpers.ts";

interface Page {
  keys: string[];
  prefixes: string[];
  truncated: boolean;
  nextMarker?: string;
  xml: string;
}

async function list(base: string, query: string): Promise<Page> {
  const { status, text } = await get(base, `/?${query}`);
  assert.equal(status, 200);
  return {
    keys: [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]),
    prefixes: [...text.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix>/g)].map((m) => m[1]),
    truncated: /<IsTruncated>true<\/IsTruncated>/.test(text),
    nextMarker: /<NextMarker>([^<]*)<\/NextMarker>/.exec(text)?.[1],
    xml: text,
  };
}

Deno.test("S3 listing pages 1000 keys with marker paging over BTCUSDT 1m daily files since 2017", async () => {
  await using emu = await startEmulator({ now: NOW });
  const prefix = "data/spot/daily/klines/BTCUSDT/1m/";
  const all: string[] = [];
  let marker = "";
  let pages = 0;
  for (;;) {
    const page = await list(emu.url, `delimiter=/&prefix=${prefix}&marker=${marker}`);
    pages++;
    all.push(...page.keys);
    if (!page.truncated) break;
    assert.equal(page.keys.length, 1000);
    assert.equal(page.nextMarker, page.keys.at(-1));
    marker = page.nextMarker!;
  }
  const days = (Date.UTC(2026, 10, 24) - Date.UTC(2017, 7, 17)) / 86_400_000 + 1;
  assert.equal(all.length, 2 * days);
  assert.equal(pages, Math.ceil((2 * days) / 1000));
  assert.deepEqual([...all].sort(), all);
  assert.equal(new Set(all).size, all.length);
  assert.equal(all[0], `${prefix}BTCUSDT-1m-2017-08-17.zip`);
  assert.equal(all[1], `${prefix}BTCUSDT-1m-2017-08-17.zip.CHECKSUM`);
  assert.equal(all.at(-1), `${prefix}BTCUSDT-1m-2026-11-24.zip.CHECKSUM`);
});

Deno.test("S3 listing XML carries the ListObjects v1 fields", async () => {
  await using emu = await startEmulator({ now: NOW });
  const page = await list(
    emu.url,
    "delimiter=/&prefix=data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/",
  );
  assert.match(page.xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<ListBucketResult xmlns=/);
  for (
    const tag of [
      "<Name>data.binance.vision</Name>",
      "<Prefix>data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/</Prefix>",
      "<Marker></Marker>",
      "<MaxKeys>1000</MaxKeys>",
      "<Delimiter>/</Delimiter>",
      "<IsTruncated>false</IsTruncated>",
    ]
  ) assert.ok(page.xml.includes(tag), tag);
  const content = /<Contents>(.*?)<\/Contents>/.exec(page.xml)![1];
  assert.match(
    content,
    /^<Key>[^<]+<\/Key><LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z<\/LastModified><ETag>&quot;[0-9a-f]{32}&quot;<\/ETag><Size>\d+<\/Size><StorageClass>STANDARD<\/StorageClass>$/,
  );
  assert.equal(
    page.keys[0],
    "data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/BTCUSD_PERP-1mo-2020-08.zip",
  );
  assert.equal(page.keys.length, 2 * 75);
  const checksum = page.xml.match(
    /BTCUSD_PERP-1mo-2020-08\.zip\.CHECKSUM<\/Key>.*?<Size>(\d+)<\/Size>/,
  )!;
  assert.equal(Number(checksum[1]), 64 + 2 + "BTCUSD_PERP-1mo-2020-08.zip".length + 1);
});

Deno.test("S3 listing rolls folders up into CommonPrefixes with delimiter /", async () => {
  await using emu = await startEmulator({ now: NOW });
  assert.deepEqual((await list(emu.url, "delimiter=/&prefix=data/")).prefixes, [
    "data/futures/",
    "data/spot/",
  ]);
  assert.deepEqual((await list(emu.url, "delimiter=/&prefix=")).prefixes, ["data/"]);
  assert.deepEqual(
    (await list(emu.url, "delimiter=/&prefix=data/futures/um/daily/klines/")).prefixes,
    ["BTCUSDT", "ETHUSDT", "NEWUSDT"].map((s) => `data/futures/um/daily/klines/${s}/`),
  );
  const daily = await list(emu.url, "delimiter=/&prefix=data/spot/daily/klines/BTCUSDT/");
  assert.deepEqual(
    daily.prefixes.map((p) => p.split("/")[5]),
    ["12h", "15m", "1d", "1h", "1m", "1s", "2h", "30m", "3m", "4h", "5m", "6h", "8h"],
  );
  assert.deepEqual(daily.keys, []);
  const monthly = await list(emu.url, "delimiter=/&prefix=data/futures/um/monthly/klines/BTCUSDT/");
  assert.ok(monthly.prefixes.some((p) => p.endsWith("/1mo/")));
  assert.ok(monthly.prefixes.some((p) => p.endsWith("/1w/")));
  assert.ok(!monthly.prefixes.some((p) => p.endsWith("/1s/")));
  const partial = await list(emu.url, "delimiter=/&prefix=data/spot/daily/klines/B");
  assert.deepEqual(partial.prefixes, ["data/spot/daily/klines/BTCUSDT/"]);
});

Deno.test("S3 listing: prefixes inside file names, no delimiter, unknown folders", async () => {
  await using emu = await startEmulator({ now: NOW });
  const jan = await list(
    emu.url,
    "delimiter=/&prefix=data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01",
  );
  assert.equal(jan.keys.length, 62);
  const flat = await list(emu.url, "prefix=data/futures/cm/monthly/klines/");
  assert.equal(flat.prefixes.length, 0);
  assert.equal(flat.keys.length, 1000);
  assert.ok(flat.truncated);
  assert.ok(flat.keys[0].startsWith("data/futures/cm/monthly/klines/BTCUSD_PERP/12h/"));
  const none = await list(emu.url, "delimiter=/&prefix=data/spot/daily/klines/NOPEUSDT/");
  assert.deepEqual([none.keys, none.prefixes, none.truncated], [[], [], false]);
  const maxKeys = await list(
    emu.url,
    "delimiter=/&prefix=data/spot/daily/klines/BTCUSDT/1d/&max-keys=3",
  );
  assert.equal(maxKeys.keys.length, 3);
  assert.ok(maxKeys.truncated);
});

Deno.test("S3 listing follows listing and delisting dates and the publication lag", async () => {
  await using emu = await startEmulator({ now: NOW, publicationLagDays: 3 });
  const fresh = await list(emu.url, "delimiter=/&prefix=data/spot/daily/klines/NEWUSDT/1d/");
  assert.equal(fresh.keys[0], "data/spot/daily/klines/NEWUSDT/1d/NEWUSDT-1d-2024-03-15.zip");
  const nov = await list(
    emu.url,
    "delimiter=/&prefix=data/spot/daily/klines/NEWUSDT/1d/NEWUSDT-1d-2026-11",
  );
  assert.equal(
    nov.keys.at(-1),
    "data/spot/daily/klines/NEWUSDT/1d/NEWUSDT-1d-2026-11-21.zip.CHECKSUM",
  );
  const old = await list(emu.url, "delimiter=/&prefix=data/spot/monthly/klines/OLDUSDT/1d/");
  assert.equal(old.keys[0], "data/spot/monthly/klines/OLDUSDT/1d/OLDUSDT-1d-2018-01.zip");
  assert.equal(
    old.keys.at(-1),
    "data/spot/monthly/klines/OLDUSDT/1d/OLDUSDT-1d-2022-06.zip.CHECKSUM",
  );
  const resume = await list(
    emu.url,
    "delimiter=/&prefix=data/spot/monthly/klines/OLDUSDT/1d/&marker=data/spot/monthly/klines/OLDUSDT/1d/OLDUSDT-1d-2022-05.zip.CHECKSUM",
  );
  assert.deepEqual(resume.keys.map((k) => k.split("/").at(-1)), [
    "OLDUSDT-1d-2022-06.zip",
    "OLDUSDT-1d-2022-06.zip.CHECKSUM",
  ]);
});

Deno.test("S3 listing pages CommonPrefixes: NextMarker is the last prefix, a prefix marker skips its keys", async () => {
  await using emu = await startEmulator({ now: NOW });
  const base = "data/spot/daily/klines/";
  const first = await list(emu.url, `delimiter=/&prefix=${base}&max-keys=2`);
  assert.deepEqual(first.prefixes, [`${base}BTCUSDT/`, `${base}ETHUSDT/`]);
  assert.ok(first.truncated);
  assert.equal(first.nextMarker, `${base}ETHUSDT/`);
  const next = await list(emu.url, `delimiter=/&prefix=${base}&max-keys=2&marker=${base}ETHUSDT/`);
  assert.deepEqual(next.prefixes, [`${base}NEWUSDT/`, `${base}OLDUSDT/`]);
  const last = await list(emu.url, `delimiter=/&prefix=${base}&max-keys=2&marker=${base}OLDUSDT/`);
  assert.equal(last.prefixes.length, 1);
  assert.equal(last.truncated, false);
  assert.equal(last.nextMarker, undefined);
});

Deno.test("S3 listing sends NextMarker only with a delimiter, as S3 v1 does", async () => {
  await using emu = await startEmulator({ now: NOW });
  const flat = await list(emu.url, "prefix=data/spot/daily/klines/BTCUSDT/1d/&max-keys=3");
  assert.ok(flat.truncated);
  assert.equal(flat.nextMarker, undefined);
  const resumed = await list(
    emu.url,
    `prefix=data/spot/daily/klines/BTCUSDT/1d/&max-keys=3&marker=${flat.keys.at(-1)}`,
  );
  assert.ok(resumed.keys[0] > flat.keys.at(-1)!);
  const rolled = await list(
    emu.url,
    "delimiter=/&prefix=data/spot/daily/klines/BTCUSDT/1d/&max-keys=3",
  );
  assert.equal(rolled.nextMarker, rolled.keys.at(-1));
});
