/**
 * A `fetch` for the manager's `fetch` option: records every URL asked,
 * answers chosen URLs itself (an error status, or a request that hangs until
 * aborted), and lets a test wait until a request was sent or answered.
 *
 * @module
 */

/** What to do with one request: undefined passes it to the real fetch. */
export type Override = (
  url: URL,
  signal: AbortSignal | undefined,
) => Promise<Response> | Response | undefined;

/** The recording fetch and what it saw. */
export interface RecordingFetch {
  /** Pass as the manager's `fetch`. */
  readonly fetch: typeof fetch;
  /** Every URL asked, in order. */
  readonly urls: URL[];
  /** Reasons of the hanging requests that were aborted. */
  readonly aborted: unknown[];
  /** Requests left hanging by {@linkcode hang}. */
  readonly hung: URL[];
  /** Resolves once `count` requests matching were sent. */
  sent(match: (url: URL) => boolean, count?: number): Promise<void>;
  /** Resolves once `count` requests matching were answered by the real fetch. */
  answered(match: (url: URL) => boolean, count?: number): Promise<void>;
  /** An override that never answers; it rejects with the signal's reason on abort. */
  hang(url: URL, signal: AbortSignal | undefined): Promise<Response>;
}

interface Waiter {
  match: (url: URL) => boolean;
  count: number;
  resolve: () => void;
}

/**
 * A fetch around the real one.
 *
 * @param override Answers chosen requests itself.
 * @returns The fetch and its records.
 */
export function recordingFetch(override?: Override): RecordingFetch {
  const urls: URL[] = [];
  const answers: URL[] = [];
  const aborted: unknown[] = [];
  const hung: URL[] = [];
  const waiters: { list: URL[]; waiter: Waiter }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.list.filter(w.waiter.match).length >= w.waiter.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.waiter.resolve();
      }
    }
  };
  const wait = (list: URL[]) => (match: (url: URL) => boolean, count = 1) => {
    const { promise, resolve } = Promise.withResolvers<void>();
    waiters.push({ list, waiter: { match, count, resolve } });
    check();
    return promise;
  };
  const record: RecordingFetch = {
    urls,
    aborted,
    hung,
    sent: wait(urls),
    answered: wait(answers),
    hang(url, signal) {
      hung.push(url);
      return new Promise<never>((_, reject) => {
        signal?.addEventListener("abort", () => {
          aborted.push(signal.reason);
          reject(signal.reason);
        }, { once: true });
      });
    },
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      urls.push(url);
      check();
      const own = override?.(url, init?.signal ?? undefined);
      const response = own === undefined ? await fetch(input, init) : await own;
      answers.push(url);
      check();
      return response;
    },
  };
  return record;
}

/** Whether a URL is a REST klines request. */
export function isRest(url: URL): boolean {
  return url.pathname.endsWith("/klines");
}

/** Whether a URL is the Vision archive (zip or CHECKSUM) of a day or month, e.g. `2024-01-02`. */
export function isArchive(url: URL, date?: string): boolean {
  return url.pathname.startsWith("/data/") &&
    (date === undefined || url.pathname.includes(`-${date}.zip`));
}

/** Whether a URL is a Vision zip (not its CHECKSUM). */
export function isZip(url: URL): boolean {
  return url.pathname.startsWith("/data/") && url.pathname.endsWith(".zip");
}

/** Whether a URL is a page of the S3 listing. */
export function isListing(url: URL): boolean {
  return url.pathname === "/";
}

/** A REST 5xx answer as Binance prints it. */
export function restError(status = 503): Response {
  return new Response(
    JSON.stringify({ code: -1001, msg: "Internal error; unable to process your request." }),
    { status, headers: { "content-type": "application/json;charset=UTF-8" } },
  );
}
