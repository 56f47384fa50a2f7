/**
 * One page of an S3 ListObjects (v1) answer, read by a strict extractor of the
 * few fields a listing needs. Strict on purpose: a cut-off or damaged body must
 * fail (the page is then retried), never parse as a shorter listing. One
 * linear pass.
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

/** What an element is to the listing, by its parent's role and its name; any other is `other`. */
type Role = "root" | "contents" | "prefixes" | "field" | "other";
const ROLES = new Map<string, Role>([
  [" ListBucketResult", "root"],
  ["root IsTruncated", "field"],
  ["root NextMarker", "field"],
  ["root Contents", "contents"],
  ["root CommonPrefixes", "prefixes"],
  ["contents Key", "field"],
  ["prefixes Prefix", "field"],
]);

/** The fields of a page as found, before their values are checked. */
interface RawPage {
  root: string;
  isTruncated?: string;
  nextMarker?: string;
  keys: string[];
  prefixes: string[];
  /** The first `Contents` or `CommonPrefixes` without its value. */
  missing?: string;
}

/** Reads the listing fields of `xml` in one pass, checking that the whole document is well-formed. */
function extract(xml: string): RawPage {
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const names: string[] = [];
  const roles: Role[] = [];
  let root: string | undefined;
  let field = ""; // the text of the open field (fields hold no elements)
  let entry: string | undefined; // the value of the open Contents or CommonPrefixes
  const page: RawPage = { root: "", keys: [], prefixes: [] };
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
  const open = (name: string) => {
    const parent = roles.at(-1);
    if (parent === "field") {
      throw new XmlSyntaxError(`the element "<${name}>" inside "<${names.at(-1)}>"`);
    }
    if (parent === undefined && root !== undefined) throw new XmlSyntaxError("a second root");
    root ??= name;
    const role = ROLES.get(`${parent ?? ""} ${name}`) ?? "other";
    if (role === "field") field = "";
    else if (role === "contents" || role === "prefixes") entry = undefined;
    names.push(name);
    roles.push(role);
  };
  const close = () => {
    const role = roles.pop(), name = names.pop();
    const parent = roles.at(-1);
    if (role === "field" && parent === "root") {
      if (name === "IsTruncated") page.isTruncated ??= field;
      else page.nextMarker ??= field;
    } else if (role === "field") entry ??= field;
    else if (role === "contents" || role === "prefixes") {
      if (entry === undefined || entry === "") {
        page.missing ??= role === "contents"
          ? "a Contents without Key"
          : "a CommonPrefixes without Prefix";
      } else (role === "contents" ? page.keys : page.prefixes).push(entry);
    }
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
  page.root = root;
  return page;
}

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
  let raw: RawPage;
  try {
    raw = extract(xml);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw fail(error.message, error);
    throw error;
  }
  if (raw.root !== "ListBucketResult") throw fail(`root element "<${raw.root}>"`);
  const truncated = raw.isTruncated?.trim();
  if (truncated !== "true" && truncated !== "false") {
    throw fail(`IsTruncated is ${JSON.stringify(truncated)}`);
  }
  if (raw.missing !== undefined) throw fail(raw.missing);
  const page: ListBucketPage = {
    keys: raw.keys,
    prefixes: raw.prefixes,
    isTruncated: truncated === "true",
  };
  if (raw.nextMarker !== undefined && raw.nextMarker !== "") page.nextMarker = raw.nextMarker;
  return page;
}
