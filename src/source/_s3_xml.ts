/**
 * A strict XML element-tree parser, and one page of an S3 ListObjects (v1)
 * answer read with it. Strict on purpose: a cut-off or damaged body must fail
 * (the page is then retried), never parse as a shorter listing.
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

/** An element of {@linkcode parseXml}'s tree (attributes are not kept). */
export interface XmlElement {
  /** The tag name, namespace prefix included. */
  name: string;
  /** The child elements, in document order. */
  children: XmlElement[];
  /** The element's own text chunks joined: entities resolved, CDATA verbatim. */
  text: string;
}

/** What {@linkcode parseXml} and {@linkcode unescapeXml} throw: the message names the fault. */
export class XmlSyntaxError extends Error {}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const HEX_REF = /^#x[0-9a-fA-F]{1,6}$/;
const DECIMAL_REF = /^#[0-9]{1,7}$/;
const NAME_RE = /^[A-Za-z_][\w.:-]*/;
const AMP = 0x26, SEMICOLON = 0x3b, LT = 0x3c, QUESTION = 0x3f, BANG = 0x21, SLASH = 0x2f;

/** The text of one reference `&body;`: a predefined entity or a code point. */
function resolveEntity(body: string): string {
  if (Object.hasOwn(ENTITIES, body)) return ENTITIES[body];
  const code = HEX_REF.test(body)
    ? parseInt(body.slice(2), 16)
    : DECIMAL_REF.test(body)
    ? parseInt(body.slice(1), 10)
    : NaN;
  if (!(code >= 0 && code <= 0x10ffff)) throw new XmlSyntaxError(`the entity "&${body};"`);
  return String.fromCodePoint(code);
}

/**
 * Resolves the five predefined entities and numeric references (`&#47;`,
 * `&#x2F;`, up to U+10FFFF) of character data.
 *
 * @param text Character data between tags.
 * @returns The text with every reference replaced (the input itself when it has no `&`).
 * @throws {XmlSyntaxError} On a `&` that starts no `name;` before the next `&`
 * or `<`, or on an unknown entity or out-of-range code point.
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

/** The element a start tag's text (between `<` and `>`) opens; attributes are skipped. */
function openElement(tag: string, stack: XmlElement[], hasRoot: boolean): XmlElement {
  const name = NAME_RE.exec(tag)?.[0];
  if (name === undefined) throw new XmlSyntaxError(`the malformed tag "<${tag}>"`);
  if (stack.length === 0 && hasRoot) throw new XmlSyntaxError("a second root");
  const element: XmlElement = { name, children: [], text: "" };
  if (stack.length > 0) stack[stack.length - 1].children.push(element);
  if (!tag.endsWith("/")) stack.push(element);
  return element;
}

/**
 * Parses the element tree of an XML document strictly: one root, no DTD, no
 * text outside the root but white space; declarations (`<?...?>`) and
 * comments are skipped; a leading BOM is allowed.
 *
 * @param xml The document.
 * @returns The root element.
 * @throws {XmlSyntaxError} On anything unterminated, unclosed, mismatched or malformed.
 */
export function parseXml(xml: string): XmlElement {
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skipTo = (end: string, what: string) => {
    const at = xml.indexOf(end, i);
    if (at < 0) throw new XmlSyntaxError(`an unterminated ${what}`);
    const body = xml.slice(i, at);
    i = at + end.length;
    return body;
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt !== i) {
      const text = xml.slice(i, lt < 0 ? xml.length : lt);
      if (stack.length > 0) stack[stack.length - 1].text += unescapeXml(text);
      else if (text.trim() !== "") throw new XmlSyntaxError("text outside the root element");
      if (lt < 0) break;
      i = lt;
    }
    const next = xml.charCodeAt(i + 1);
    if (next === QUESTION) skipTo("?>", "declaration");
    else if (next === BANG && xml.startsWith("<!--", i)) skipTo("-->", "comment");
    else if (next === BANG && xml.startsWith("<![CDATA[", i)) {
      i += 9;
      const data = skipTo("]]>", "CDATA section");
      if (stack.length === 0) throw new XmlSyntaxError("CDATA outside the root element");
      stack[stack.length - 1].text += data;
    } else if (next === SLASH) {
      i += 2;
      const name = skipTo(">", "end tag").trim();
      if (stack.pop()?.name !== name) {
        throw new XmlSyntaxError(`the unexpected end tag "</${name}>"`);
      }
    } else {
      i += 1;
      const element = openElement(skipTo(">", "start tag"), stack, root !== undefined);
      root ??= element; // a non-empty stack implies a root
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError(`the unclosed element "<${stack.at(-1)!.name}>"`);
  if (root === undefined) throw new XmlSyntaxError("no root element");
  return root;
}

function childText(element: XmlElement, name: string): string | undefined {
  return element.children.find((c) => c.name === name)?.text;
}

/**
 * Parses one page of an S3 ListObjects (v1) XML answer (`ListBucketResult`).
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
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw fail(error.message, error);
    throw error;
  }
  if (root.name !== "ListBucketResult") throw fail(`root element "<${root.name}>"`);
  const truncated = childText(root, "IsTruncated")?.trim();
  if (truncated !== "true" && truncated !== "false") {
    throw fail(`IsTruncated is ${JSON.stringify(truncated)}`);
  }
  const required = (element: XmlElement, field: string) => {
    const value = childText(element, field);
    if (value === undefined || value === "") throw fail(`a ${element.name} without ${field}`);
    return value;
  };
  const keys: string[] = [];
  const prefixes: string[] = [];
  for (const child of root.children) {
    if (child.name === "Contents") keys.push(required(child, "Key"));
    else if (child.name === "CommonPrefixes") prefixes.push(required(child, "Prefix"));
  }
  const page: ListBucketPage = { keys, prefixes, isTruncated: truncated === "true" };
  const nextMarker = childText(root, "NextMarker");
  if (nextMarker !== undefined && nextMarker !== "") page.nextMarker = nextMarker;
  return page;
}
