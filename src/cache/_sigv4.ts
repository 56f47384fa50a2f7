/**
 * AWS Signature Version 4 for S3 requests (the `Authorization` header), with
 * Web Crypto only: HMAC-SHA256 for the key derivation and signature, SHA-256
 * for the canonical request and payload hashes.
 *
 * S3's variant: the path is URI-encoded once (not twice as for other
 * services), and `x-amz-content-sha256` carries the payload's hash (or
 * `UNSIGNED-PAYLOAD`).
 *
 * @module
 */

/** Access key pair, with the session token of temporary credentials. */
export interface SigV4Credentials {
  /** The access key id (it appears in every request, in clear). */
  accessKeyId: string;
  /** The secret key (never sent, never put in a message). */
  secretAccessKey: string;
  /** The session token of temporary credentials (`x-amz-security-token`). */
  sessionToken?: string;
}

/** A request to sign. */
export interface SigV4Request {
  /** The HTTP method, upper case. */
  method: string;
  /** The URL as it will be fetched (its path already percent-encoded as wanted). */
  url: URL;
  /** Headers to sign besides `host`, `x-amz-date` and `x-amz-content-sha256`; names any case. */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. */
  payloadHash: string;
  /** The signing region, e.g. `us-east-1`. */
  region: string;
  /** The signing time. */
  date: Date;
  /** The service, `s3` here. */
  service?: string;
}

/** The hex SHA-256 of the empty body. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  let out = "";
  for (const byte of new Uint8Array(bytes)) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * The hex SHA-256 of bytes or text.
 *
 * @param data The payload.
 * @returns 64 lower-case hex digits.
 */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

async function hmac(key: Uint8Array | ArrayBuffer, text: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text));
}

/**
 * RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
 * (`A-Z a-z 0-9 - . _ ~`) kept, every other UTF-8 byte as `%XX` upper case.
 *
 * @param text The text.
 * @param keepSlash Whether `/` is kept (a path) or encoded (a query value).
 * @returns The encoded text.
 */
export function uriEncode(text: string, keepSlash = false): string {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replaceAll("%2F", "/") : encoded;
}

/** The query of `url` in canonical form: decoded, re-encoded, sorted by name then value. */
function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)]);
  pairs.sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0);
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** The last signing key derived for each credentials object, by scope (it changes daily). */
const signingKeys = new WeakMap<SigV4Credentials, { scope: string; key: ArrayBuffer }>();

/** The signing key of a scope `day/region/service/aws4_request`, derived once a day per credentials. */
async function signingKey(credentials: SigV4Credentials, scope: string): Promise<ArrayBuffer> {
  const known = signingKeys.get(credentials);
  if (known?.scope === scope) return known.key;
  const [day, ...parts] = scope.split("/");
  let key = await hmac(encoder.encode(`AWS4${credentials.secretAccessKey}`), day);
  for (const part of parts) key = await hmac(key, part);
  signingKeys.set(credentials, { scope, key });
  return key;
}

/** `YYYYMMDDTHHMMSSZ`. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * Signs a request: the headers to send with it (`authorization`,
 * `x-amz-date`, `x-amz-content-sha256`, and `x-amz-security-token` with a
 * session token), besides the request's own `headers`, which are signed too.
 *
 * @param request Method, URL, headers, payload hash, region, time.
 * @param credentials The key pair.
 * @returns The headers to add, lower-case names.
 */
export async function signV4(
  request: SigV4Request,
  credentials: SigV4Credentials,
): Promise<Record<string, string>> {
  const service = request.service ?? "s3";
  const stamp = amzDate(request.date);
  const day = stamp.slice(0, 8);
  const added: Record<string, string> = {
    "x-amz-content-sha256": request.payloadHash,
    "x-amz-date": stamp,
  };
  if (credentials.sessionToken) added["x-amz-security-token"] = credentials.sessionToken;
  const signed = new Map<string, string>([["host", request.url.host]]);
  for (const [name, value] of Object.entries({ ...request.headers, ...added })) {
    signed.set(name.toLowerCase(), value.trim().replace(/\s+/g, " "));
  }
  const names = [...signed.keys()].sort();
  const signedHeaders = names.join(";");
  const canonical = [
    request.method,
    request.url.pathname || "/",
    canonicalQuery(request.url),
    names.map((name) => `${name}:${signed.get(name)}\n`).join(""),
    signedHeaders,
    request.payloadHash,
  ].join("\n");
  const scope = `${day}/${request.region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${await sha256Hex(canonical)}`;
  const signature = hex(await hmac(await signingKey(credentials, scope), toSign));
  added.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope},` +
    `SignedHeaders=${signedHeaders},Signature=${signature}`;
  return added;
}
