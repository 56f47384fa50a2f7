/**
 * S3's XML answers, read by one strict extractor of the few fields each needs:
 * a ListObjects (v1) page (the Vision listing), a ListObjectsV2 page and an
 * error body (the object-store cache). Strict on purpose: a cut-off or
 * damaged body must fail (the page is then retried), never parse as a shorter
 * listing. One linear pass.
 *
 * @module
 */
import { NetworkError } from "../core/errors.ts";

/** One page of an S3 ListObjects (v1) answer, from {@linkcode parseListBucketResult}. */
export interface ListBucketPage {
  /** The `Key` of every `Contents`, in order. */
  keys: string[];
  /** The `Prefix` of every `CommonPrefixes`, in order. */
  prefixes: string[];
  /** Whether more pages follow. */
  isTruncated: boolean;
  /** `NextMarker`, when the server sent one. */
  nextMarker?: string;
}

/** What {@linkcode parseListBucketResult} wraps and {@linkcode unescapeXml} throws. */
export class XmlSyntaxError extends Error {}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
// Each pattern below is anchored or sticky and unambiguous (every character has one place to
// go), so it runs in one pass without backtracking, whatever the input.
const CHAR_REF = /^#(?:x[0-9a-fA-F]{1,6}|[0-9]{1,7})$/;
const BLANK = /^[ \t\r\n]*$/;
const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTRIBUTE = /[ \t\r\n]+[A-Za-z_][\w.:-]*[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/y;
const AMP = 0x26, SEMICOLON = 0x3b, LT = 0x3c, SLASH = 0x2f;

/** The text of one reference `&body;`: a predefined entity or a code point. */
function resolveEntity(body: string): string {
  if (Object.hasOwn(ENTITIES, body)) return ENTITIES[body];
  const code = !CHAR_REF.test(body)
    ? NaN
    : body[1] === "x"
    ? parseInt(body.slice(2), 16)
    : parseInt(body.slice(1), 10);
  if (!(code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
    throw new XmlSyntaxError(`the entity "&${body};"`);
  }
  return String.fromCodePoint(code);
}

/**
 * Resolves the five predefined entities and numeric references (`&#47;`,
 * `&#x2F;`, up to U+10FFFF, surrogates excluded) of character data.
 *
 * @param text Character data between tags.
 * @returns The text with every reference replaced (the input itself when it has no `&`).
 * @throws {XmlSyntaxError} On a `&` that starts no `name;` before the next `&`
 * or `<`, or on an unknown entity or invalid code point.
 */
export function unescapeXml(text: string): string {
  let amp = text.indexOf("&");
  if (amp < 0) return text;
  let out = "";
  let from = 0;
  while (amp >= 0) {
    let end = amp + 1;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === SEMICOLON || c === AMP || c === LT) break;
      end += 1;
    }
    if (text.charCodeAt(end) !== SEMICOLON) throw new XmlSyntaxError("a bare '&'");
    out += text.slice(from, amp) + resolveEntity(text.slice(amp + 1, end));
    from = end + 1;
    amp = text.indexOf("&", from);
  }
  return out + text.slice(from);
}

/** The length of the XML name at `from` in `text` (0 when there is none). */
function nameLength(text: string, from = 0): number {
  NAME.lastIndex = from;
  return NAME.test(text) ? NAME.lastIndex - from : 0;
}

/** The name a start tag's text (between `<` and `>`) opens; its `name="value"` attributes are checked, not kept. */
function tagName(tag: string): string {
  const body = tag.endsWith("/") ? tag.slice(0, -1) : tag;
  let end = nameLength(body);
  if (end === 0) throw new XmlSyntaxError(`the malformed tag "<${tag}>"`);
  const name = body.slice(0, end);
  ATTRIBUTE.lastIndex = end;
  for (let match = ATTRIBUTE.exec(body); match !== null; match = ATTRIBUTE.exec(body)) {
    unescapeXml(match[1] ?? match[2]);
    end = ATTRIBUTE.lastIndex;
  }
  if (!BLANK.test(body.slice(end))) throw new XmlSyntaxError(`the malformed tag "<${tag}>"`);
  return name;
}

/**
 * The elements a parser reads, by path from the root (`Root/Child/...`):
 * `entries` are repeated records (`Contents`), `fields` text values (of the
 * root or of an entry). Every other element is skipped.
 */
interface Schema {
  root: string;
  entries: ReadonlySet<string>;
  fields: ReadonlySet<string>;
}

/** What an element is to the parser; an element outside the schema is `other`, and so are its children. */
type Role = "root" | "entry" | "field" | "other";

/** An entry as found: its element name and its fields' first values. */
interface RawEntry {
  name: string;
  fields: Record<string, string>;
}

/** The fields of a document as found, before their values are checked. */
interface RawDocument {
  /** The root element's name. */
  root: string;
  /** The first value of each root field. */
  fields: Record<string, string>;
  /** Every entry, in document order. */
  entries: RawEntry[];
}

/** Reads the schema's fields of `xml` in one pass, checking that the whole document is well-formed. */
function extract(xml: string, schema: Schema): RawDocument {
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const names: string[] = [];
  const roles: Role[] = [];
  const paths: string[] = [];
  let root: string | undefined;
  let field = ""; // the text of the open field (fields hold no elements)
  let entry: RawEntry | undefined; // the open entry
  const doc: RawDocument = { root: "", fields: {}, entries: [] };
  const skipTo = (end: string, what: string) => {
    const at = xml.indexOf(end, i);
    if (at < 0) throw new XmlSyntaxError(`an unterminated ${what}`);
    const body = xml.slice(i, at);
    i = at + end.length;
    return body;
  };
  const addText = (text: string, what: string) => {
    const role = roles.at(-1);
    if (role === undefined) {
      if (!BLANK.test(text)) throw new XmlSyntaxError(`${what} outside the root element`);
    } else if (role === "field") field += text;
    else if (role !== "other" && !BLANK.test(text)) {
      throw new XmlSyntaxError(`${what} inside "<${names.at(-1)}>"`);
    }
  };
  const roleOf = (parent: Role | undefined, path: string): Role => {
    if (parent === undefined) return path === schema.root ? "root" : "other";
    if (parent === "other") return "other";
    return schema.entries.has(path) ? "entry" : schema.fields.has(path) ? "field" : "other";
  };
  const open = (name: string) => {
    const parent = roles.at(-1);
    if (parent === "field") {
      throw new XmlSyntaxError(`the element "<${name}>" inside "<${names.at(-1)}>"`);
    }
    if (parent === undefined && root !== undefined) throw new XmlSyntaxError("a second root");
    root ??= name;
    const path = parent === undefined ? name : parent === "other" ? "" : `${paths.at(-1)}/${name}`;
    const role = roleOf(parent, path);
    if (role === "field") field = "";
    else if (role === "entry") entry = { name, fields: {} };
    names.push(name);
    roles.push(role);
    paths.push(path);
  };
  const close = () => {
    const role = roles.pop(), name = names.pop()!;
    paths.pop();
    if (role === "field") {
      const owner = roles.at(-1) === "root" ? doc.fields : entry!.fields;
      owner[name] ??= field;
    } else if (role === "entry") doc.entries.push(entry!);
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt !== i) {
      addText(unescapeXml(xml.slice(i, lt < 0 ? xml.length : lt)), "text");
      if (lt < 0) break;
      i = lt;
    }
    if (xml.startsWith("<?", i)) skipTo("?>", "declaration");
    else if (xml.startsWith("<!--", i)) skipTo("-->", "comment");
    else if (xml.startsWith("<![CDATA[", i)) {
      i += 9;
      addText(skipTo("]]>", "CDATA section"), "CDATA");
    } else if (xml.charCodeAt(i + 1) === SLASH) {
      i += 2;
      const tag = skipTo(">", "end tag");
      const length = nameLength(tag);
      const name = BLANK.test(tag.slice(length)) ? tag.slice(0, length) : tag;
      if (names.at(-1) !== name) throw new XmlSyntaxError(`the unexpected end tag "</${name}>"`);
      close();
    } else {
      i += 1;
      const tag = skipTo(">", "start tag");
      open(tagName(tag));
      if (tag.endsWith("/")) close();
    }
  }
  if (names.length > 0) throw new XmlSyntaxError(`the unclosed element "<${names.at(-1)}>"`);
  if (root === undefined) throw new XmlSyntaxError("no root element");
  doc.root = root;
  return doc;
}

/** Extracts `xml` by `schema`, its faults wrapped in `fail`'s error. */
function extractOr(xml: string, schema: Schema, fail: (why: string, cause?: unknown) => Error) {
  try {
    return extract(xml, schema);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw fail(error.message, error);
    throw error;
  }
}

/** The value of a required `IsTruncated`, or the reason it is not valid. */
function truncatedOf(doc: RawDocument): boolean | string {
  const truncated = doc.fields.IsTruncated?.trim();
  if (truncated !== "true" && truncated !== "false") {
    return `IsTruncated is ${JSON.stringify(truncated)}`;
  }
  return truncated === "true";
}

const LIST_V1: Schema = {
  root: "ListBucketResult",
  entries: new Set(["ListBucketResult/Contents", "ListBucketResult/CommonPrefixes"]),
  fields: new Set([
    "ListBucketResult/IsTruncated",
    "ListBucketResult/NextMarker",
    "ListBucketResult/Contents/Key",
    "ListBucketResult/CommonPrefixes/Prefix",
  ]),
};

/**
 * Parses one page of an S3 ListObjects (v1) XML answer (`ListBucketResult`):
 * `IsTruncated`, `NextMarker`, each `Contents`' `Key` and each
 * `CommonPrefixes`' `Prefix`. Other elements are skipped but must be
 * well-formed; declarations, comments, CDATA and a leading BOM are allowed; a
 * DTD, text beside the read elements' children, or an element inside a read
 * value are not.
 *
 * @param xml The response body.
 * @param url The requested URL, quoted in errors.
 * @returns Keys, common prefixes, whether truncated, and `NextMarker`.
 * @throws {NetworkError} When the XML is malformed or not a `ListBucketResult`
 * (a truncated body is the usual cause; the error is retryable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListBucketResult } from "./vision_listing.ts";
 * const page = parseListBucketResult(
 *   `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated>` +
 *     `<Contents><Key>a&amp;b.zip</Key></Contents></ListBucketResult>`,
 * );
 * assert.deepEqual(page, { keys: ["a&b.zip"], prefixes: [], isTruncated: false });
 * ```
 */
export function parseListBucketResult(xml: string, url = "listing"): ListBucketPage {
  const fail = (why: string, cause?: unknown) =>
    new NetworkError(url, `Cannot list ${url}: malformed listing XML (${why})`, { cause });
  const doc = extractOr(xml, LIST_V1, fail);
  if (doc.root !== "ListBucketResult") throw fail(`root element "<${doc.root}>"`);
  const isTruncated = truncatedOf(doc);
  if (typeof isTruncated === "string") throw fail(isTruncated);
  const page: ListBucketPage = { keys: [], prefixes: [], isTruncated };
  for (const { name, fields } of doc.entries) {
    const contents = name === "Contents";
    const value = contents ? fields.Key : fields.Prefix;
    if (value === undefined || value === "") {
      throw fail(contents ? "a Contents without Key" : "a CommonPrefixes without Prefix");
    }
    (contents ? page.keys : page.prefixes).push(value);
  }
  const nextMarker = doc.fields.NextMarker;
  if (nextMarker !== undefined && nextMarker !== "") page.nextMarker = nextMarker;
  return page;
}

/** An object of a ListObjectsV2 page. */
export interface ListedObject {
  /** The object's key. */
  key: string;
  /** Its size, bytes. */
  size: number;
}

/** One page of an S3 ListObjectsV2 answer, from {@linkcode parseListObjectsV2}. */
export interface ListObjectsV2Page {
  /** Each `Contents`' `Key` and `Size`, in order. */
  objects: ListedObject[];
  /** Whether more pages follow. */
  isTruncated: boolean;
  /** `NextContinuationToken`: present whenever `isTruncated`. */
  nextContinuationToken?: string;
}

const LIST_V2: Schema = {
  root: "ListBucketResult",
  entries: new Set(["ListBucketResult/Contents"]),
  fields: new Set([
    "ListBucketResult/IsTruncated",
    "ListBucketResult/NextContinuationToken",
    "ListBucketResult/Contents/Key",
    "ListBucketResult/Contents/Size",
  ]),
};

const SIZE = /^[0-9]{1,16}$/;

/**
 * Parses one page of an S3 ListObjectsV2 XML answer (`ListBucketResult`):
 * `IsTruncated`, `NextContinuationToken`, each `Contents`' `Key` and `Size`,
 * by the same strict extractor as {@linkcode parseListBucketResult}.
 *
 * @param xml The response body.
 * @param url The requested URL, quoted in errors.
 * @returns The objects, whether truncated, and the token of the next page.
 * @throws {NetworkError} When the XML is malformed, not a `ListBucketResult`,
 * an object lacks its key or a decimal size, or a truncated page has no
 * token (a cut-off body is the usual cause; the error is retryable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListObjectsV2 } from "./_s3_xml.ts";
 * const page = parseListObjectsV2(
 *   `<ListBucketResult><IsTruncated>true</IsTruncated><KeyCount>1</KeyCount>` +
 *     `<Contents><Key>p/a.arrow</Key><Size>12</Size></Contents>` +
 *     `<NextContinuationToken>t1</NextContinuationToken></ListBucketResult>`,
 * );
 * assert.deepEqual(page, {
 *   objects: [{ key: "p/a.arrow", size: 12 }],
 *   isTruncated: true,
 *   nextContinuationToken: "t1",
 * });
 * ```
 */
export function parseListObjectsV2(xml: string, url = "listing"): ListObjectsV2Page {
  const fail = (why: string, cause?: unknown) =>
    new NetworkError(url, `Cannot list ${url}: malformed listing XML (${why})`, { cause });
  const doc = extractOr(xml, LIST_V2, fail);
  if (doc.root !== "ListBucketResult") throw fail(`root element "<${doc.root}>"`);
  const isTruncated = truncatedOf(doc);
  if (typeof isTruncated === "string") throw fail(isTruncated);
  const objects = doc.entries.map(({ fields }) => {
    if (fields.Key === undefined || fields.Key === "") throw fail("a Contents without Key");
    const size = fields.Size?.trim();
    if (size === undefined || !SIZE.test(size)) {
      throw fail(`the Size ${JSON.stringify(size)} of "${fields.Key}"`);
    }
    return { key: fields.Key, size: Number(size) };
  });
  const page: ListObjectsV2Page = { objects, isTruncated };
  const token = doc.fields.NextContinuationToken;
  if (token !== undefined && token !== "") page.nextContinuationToken = token;
  else if (isTruncated) throw fail("a truncated page without NextContinuationToken");
  return page;
}

/** The fields of an S3 error body, from {@linkcode parseS3Error}. */
export interface S3ErrorBody {
  /** `Code`, e.g. `NoSuchKey`, `SignatureDoesNotMatch`. */
  code: string;
  /** `Message`, when present. */
  message?: string;
}

const ERROR: Schema = {
  root: "Error",
  entries: new Set(),
  fields: new Set(["Error/Code", "Error/Message"]),
};

/**
 * Reads `Code` and `Message` of an S3 error body (`<Error>`), by the strict
 * extractor.
 *
 * @param xml The response body.
 * @returns The code and message, or undefined when the body is not a
 * well-formed `<Error>` with a `Code` (an empty body, HTML from a proxy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseS3Error } from "./_s3_xml.ts";
 * assert.deepEqual(
 *   parseS3Error(`<?xml version="1.0"?><Error><Code>NoSuchBucket</Code><BucketName>b</BucketName></Error>`),
 *   { code: "NoSuchBucket" },
 * );
 * assert.equal(parseS3Error("<html>Bad gateway</html>"), undefined);
 * ```
 */
export function parseS3Error(xml: string): S3ErrorBody | undefined {
  let doc: RawDocument;
  try {
    doc = extract(xml, ERROR);
  } catch (error) {
    if (error instanceof XmlSyntaxError) return undefined;
    throw error;
  }
  const code = doc.fields.Code?.trim();
  if (doc.root !== "Error" || !code) return undefined;
  const message = doc.fields.Message?.trim();
  return message ? { code, message } : { code };
}
