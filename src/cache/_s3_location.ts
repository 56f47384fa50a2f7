/**
 * Where an {@linkcode S3ObjectStore} is: bucket and prefix from its URL, the
 * region, the endpoint and the credentials, from the options or the usual
 * AWS environment variables (read only when the option is not given).
 *
 * @module
 */
import type { SigV4Credentials } from "./_sigv4.ts";

/** An access key pair (and the session token of temporary credentials). */
export type S3Credentials = SigV4Credentials;

/** The options a location is resolved from. */
export interface LocationOptions {
  /** `s3://bucket[/prefix]`. */
  url: string;
  /** The endpoint. */
  endpoint?: string;
  /** The signing region. */
  region?: string;
  /** The key pair. */
  credentials?: S3Credentials;
}

/** A resolved location. */
export interface S3Location {
  /** The bucket. */
  bucket: string;
  /** The key prefix, without slashes around it (`""` for none). */
  prefix: string;
  /** `s3://bucket[/prefix]`, normalized. */
  url: string;
  /** The signing region. */
  region: string;
  /** The endpoint, without a trailing `/`. */
  endpoint: string;
  /** The key pair; undefined for unsigned requests. */
  credentials: S3Credentials | undefined;
}

const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/**
 * Resolves the options: `region` (else AWS_REGION, else `us-east-1`),
 * `endpoint` (else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else
 * `https://s3.{region}.amazonaws.com`), `credentials` (else
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else none).
 *
 * @throws {TypeError} On a URL that is not `s3://bucket[/prefix]` or an endpoint that is not http(s).
 */
export function resolveLocation(options: LocationOptions): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(options.url);
  if (!match || !BUCKET.test(match[1])) {
    throw new TypeError(`Cannot open ${JSON.stringify(options.url)}: not s3://bucket[/prefix]`);
  }
  const bucket = match[1];
  const prefix = match[2].replace(/\/+$/, "");
  if (prefix !== "") checkKey(prefix, "prefix");
  const region = options.region ?? env("AWS_REGION") ?? "us-east-1";
  const endpoint = endpointOf(
    options.endpoint ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL") ??
      `https://s3.${region}.amazonaws.com`,
  );
  return {
    bucket,
    prefix,
    url: `s3://${bucket}${prefix === "" ? "" : `/${prefix}`}`,
    region,
    endpoint,
    credentials: options.credentials ?? credentialsFromEnv(),
  };
}

/**
 * Refuses keys S3 or URL parsing would change: empty, leading `/`, `.`/`..`/empty segments.
 *
 * @throws {TypeError} On such a key.
 */
export function checkKey(key: string, what: string): void {
  if (key === "" || key.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new TypeError(
      `Cannot use the ${what} ${
        JSON.stringify(key)
      }: it needs non-empty "/"-separated parts, none "." or ".."`,
    );
  }
}

function endpointOf(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    throw new TypeError(`Cannot use the endpoint ${JSON.stringify(text)}: not an http(s) URL`);
  }
  return url.href.replace(/\/+$/, "");
}

/** An environment variable, undefined when unset or empty. */
function env(name: string): string | undefined {
  const value = (globalThis as { Deno?: typeof Deno }).Deno?.env.get(name);
  return value === "" ? undefined : value;
}

function credentialsFromEnv(): S3Credentials | undefined {
  const accessKeyId = env("AWS_ACCESS_KEY_ID");
  const secretAccessKey = env("AWS_SECRET_ACCESS_KEY");
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  const sessionToken = env("AWS_SESSION_TOKEN");
  return sessionToken === undefined
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken };
}
