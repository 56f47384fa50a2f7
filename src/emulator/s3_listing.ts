/**
 * The S3 ListObjects (v1) XML answer of the emulated Vision bucket: keys in
 * lexicographic order, 1000 a page, marker paging, and common prefixes when
 * the delimiter is `/`; every dataset a market publishes per period has its
 * folder.
 *
 * @module
 */
import { type Dataset, datasetInfo, DATASETS } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import { visionIntervalName } from "../core/interval.ts";
import { datasetSeries } from "./dataset_series.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";
import type { VisionFile, VisionFileParts, VisionFiles } from "./vision_files.ts";

/** A ListObjects query. */
export interface ListQuery {
  /** Keys start with it. @default "" */
  prefix?: string;
  /** `/` rolls deeper keys up into common prefixes. @default none */
  delimiter?: string;
  /** Only keys after it. @default "" */
  marker?: string;
  /** Page size, at most 1000. @default 1000 */
  maxKeys?: number;
}

const MARKET_FOLDERS: Record<string, Market> = {
  "data/spot/": "spot",
  "data/futures/um/": "um",
  "data/futures/cm/": "cm",
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function hex(text: string): string {
  let out = "";
  for (let k = 0; k < 4; k++) {
    let h = 0x811c9dc5 ^ k;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    out += (h >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}

type Entry = { key: string; file?: VisionFile; checksum?: boolean };

function children(
  files: VisionFiles,
  path: string,
  isListed: (key: string) => boolean,
  marker: string,
): Iterable<Entry> {
  if (path === "") return [{ key: "data/" }];
  if (path === "data/") return [{ key: "data/futures/" }, { key: "data/spot/" }];
  if (path === "data/futures/") return [{ key: "data/futures/cm/" }, { key: "data/futures/um/" }];
  const m =
    /^(data\/(?:spot|futures\/um|futures\/cm)\/)(?:(daily|monthly)\/(?:([^/]+)\/(?:([^/]+)\/(?:([^/]+)\/)?)?)?)?$/
      .exec(path);
  if (m === null) return [];
  const [, root, period, folder, symbol, iv] = m;
  const market = MARKET_FOLDERS[root];
  if (period === undefined) return [{ key: `${path}daily/` }, { key: `${path}monthly/` }];
  const p = period as VisionFile["period"];
  const published = DATASETS.filter((d) =>
    datasetInfo(d).markets.includes(market) && datasetInfo(d).archivePeriods.includes(p)
  );
  if (folder === undefined) return published.sort().map((d) => ({ key: `${path}${d}/` }));
  const dataset = folder as Dataset;
  if (!published.includes(dataset)) return [];
  const series = datasetSeries(files.data, dataset);
  if (symbol === undefined) {
    return series.list(market).map((s) => ({ key: `${path}${s.symbol}/` }));
  }
  const spec = series.find(market, symbol);
  if (spec === undefined) return [];
  if (datasetInfo(dataset).series !== "grid") {
    return iv === undefined
      ? fileEntries(files, spec, { dataset, period: p }, isListed, marker)
      : [];
  }
  const intervals = files.intervals(market, p);
  if (iv === undefined) {
    return intervals.map((i) => ({ key: `${path}${visionIntervalName(i)}/` }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  const interval = intervals.find((i) => visionIntervalName(i) === iv);
  if (interval === undefined) return [];
  return fileEntries(files, spec, { dataset, period: p, interval }, isListed, marker);
}

/**
 * A series' files and their CHECKSUMs in key order, those up to `marker`
 * skipped by their date alone (a key is its series' head, the date and
 * `.zip`), so that a page far into a long series describes only its own
 * files: the emulator answers one listing while other requests wait.
 */
function* fileEntries(
  files: VisionFiles,
  spec: EmulatedSymbol,
  parts: Omit<VisionFileParts, "date">,
  isListed: (key: string) => boolean,
  marker: string,
): Generator<Entry> {
  let head: string | undefined;
  for (const date of files.dates(spec, parts.period)) {
    if (head !== undefined && `${head}${date}.zip.CHECKSUM` <= marker) continue;
    const file = files.file(spec, { ...parts, date })!;
    if (head === undefined && file.key.endsWith(`${date}.zip`)) {
      head = file.key.slice(0, file.key.length - `${date}.zip`.length);
    }
    if (!isListed(file.key)) continue;
    yield { key: file.key, file };
    yield { key: `${file.key}.CHECKSUM`, file, checksum: true };
  }
}

/**
 * Answers a ListObjects (v1) query with S3's XML. With a delimiter, keys
 * below it are rolled up into `CommonPrefixes`, which count toward the page
 * size, and a truncated page names its last key or common prefix in
 * `NextMarker` (sent only with a delimiter, as S3 does); a common prefix as
 * `marker` skips every key under it.
 *
 * `<Size>` of a zip is an estimate (exact sizes would mean building every
 * zip); `<ETag>` is a stable hash of the key, not the MD5 of the content.
 *
 * @param files The Vision file tree.
 * @param query Prefix, delimiter, marker, page size.
 * @param isListed Whether an existing file is listed (missing files are not).
 * @returns The XML document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { listObjects } from "./s3_listing.ts";
 * import { VisionFiles } from "./vision_files.ts";
 * const files = new VisionFiles(new MarketData(), { now: () => Date.UTC(2024, 5) });
 * const xml = listObjects(files, { prefix: "data/futures/", delimiter: "/" });
 * assert.match(xml, /<CommonPrefixes><Prefix>data\/futures\/cm\/<\/Prefix><\/CommonPrefixes>/);
 * ```
 */
export function listObjects(
  files: VisionFiles,
  query: ListQuery,
  isListed: (key: string) => boolean = () => true,
): string {
  const prefix = query.prefix ?? "";
  const delimiter = query.delimiter ?? "";
  const marker = query.marker ?? "";
  const maxKeys = Math.max(0, Math.min(1000, query.maxKeys ?? 1000));
  const rolled = delimiter === "/";
  function* walk(path: string): Generator<Entry & { common?: boolean }> {
    for (const child of children(files, path, isListed, marker)) {
      const key = child.key;
      if (key.endsWith("/")) {
        if (prefix.startsWith(key)) {
          yield* walk(key);
          continue;
        }
        if (!key.startsWith(prefix) || (key < marker && !marker.startsWith(key))) continue;
        if (!rolled) yield* walk(key);
        else if (key > marker && !marker.startsWith(key)) yield { key, common: true };
      } else if (key.startsWith(prefix) && key > marker) yield child;
    }
  }
  const contents: string[] = [];
  const commons: string[] = [];
  let last = "";
  let truncated = false;
  let count = 0;
  for (const e of walk("")) {
    if (count === maxKeys) {
      truncated = true;
      break;
    }
    count++;
    last = e.key;
    if (e.common) {
      commons.push(`<CommonPrefixes><Prefix>${escapeXml(e.key)}</Prefix></CommonPrefixes>`);
    } else contents.push(content(files, e));
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Name>data.binance.vision</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
    `<Marker>${escapeXml(marker)}</Marker>` +
    // S3 v1 sends NextMarker only with a delimiter; without one the next marker is the last key.
    (truncated && delimiter ? `<NextMarker>${escapeXml(last)}</NextMarker>` : "") +
    `<MaxKeys>${maxKeys}</MaxKeys>` +
    (delimiter ? `<Delimiter>${escapeXml(delimiter)}</Delimiter>` : "") +
    `<IsTruncated>${truncated}</IsTruncated>` + contents.join("") + commons.join("") +
    `</ListBucketResult>`;
}

function content(files: VisionFiles, e: Entry): string {
  const file = e.file!;
  const seconds = parseInt(hex(e.key).slice(0, 6), 16) % 21_600;
  const modified = new Date(file.end + 3_600_000 + seconds * 1000).toISOString();
  const size = e.checksum ? files.checksum(file, "0".repeat(64)).length : files.estimateSize(file);
  return `<Contents><Key>${escapeXml(e.key)}</Key><LastModified>${modified}</LastModified>` +
    `<ETag>&quot;${hex(e.key)}&quot;</ETag><Size>${size}</Size>` +
    `<StorageClass>STANDARD</StorageClass></Contents>`;
}
