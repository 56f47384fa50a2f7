/**
 * A hostile server: bodies that drip or never end, a `Retry-After` of an
 * hour, a host that answers 500 to everything, listings truncated forever.
 * Every call settles within a bounded time and reads a bounded number of
 * bytes, with a typed error; none waits for the server's good will.
 *
 * One `Deno.test` per kind of hostility. Each call runs under a watchdog
 * signal: a call that would hang fails the test instead of the suite. Byte
 * counts are what the server handed to the socket (the kernel buffers a few
 * MB more than the client reads), so the bounds leave room for that.
 */
import assert from "node:assert/strict";
import {
  HostFailingError,
  HttpError,
  NetworkError,
  RateLimitError,
  ResponseTooLargeError,
} from "../../src/core/errors.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { RestClient } from "../../src/source/rest_client.ts";
import { VisionClient } from "../../src/source/vision_client.ts";
import { listVisionFiles } from "../../src/source/vision_listing.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";

/** Bytes any endless body may push before the test counts the read as unbounded. */
const SERVED_BOUND = 24 * 1024 * 1024;
/** What an endless body stops at anyway, so that a client without a cap cannot exhaust memory. */
const SERVER_STOP = 64 * 1024 * 1024;
const RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const DAY = { market: "spot", symbol: "BTCUSDT", interval: "1d", period: "daily" } as const;
const ZIP_NAME = "BTCUSDT-1d-2024-01-01.zip";
const CHECKSUM_TEXT = `${"0".repeat(64)}  ${ZIP_NAME}\n`;

/** A signal that aborts after `ms`: a call that hangs fails the test instead. */
function watchdog(ms = 8_000): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`Watchdog: the call did not settle within ${ms} ms`)),
    ms,
  );
  return { signal: controller.signal, [Symbol.dispose]: () => clearTimeout(timer) };
}

/**
 * A body that sends one byte every `ms` until cancelled, and ends after
 * `bytes` (so that a client that cannot be stopped still lets the test end).
 */
function drip(ms: number, counter: { bytes: number }, bytes = 250): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sent = 0;
  return new ReadableStream({
    pull: (controller) =>
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (sent++ === bytes) return resolve(controller.close());
          counter.bytes++;
          controller.enqueue(new Uint8Array([0x30]));
          resolve();
        }, ms);
      }),
    cancel: () => clearTimeout(timer),
  }, { highWaterMark: 0 });
}

/** A body of `first`, then `chunk` over and over until cancelled (or {@linkcode SERVER_STOP}). */
function endless(
  counter: { bytes: number },
  chunk: Uint8Array,
  first?: Uint8Array,
): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    start(controller) {
      if (first) controller.enqueue(first), sent += first.length, counter.bytes += first.length;
    },
    pull(controller) {
      if (sent >= SERVER_STOP) return controller.close();
      controller.enqueue(chunk.slice());
      sent += chunk.length;
      counter.bytes += chunk.length;
    },
  }, { highWaterMark: 0 });
}

/** A loopback server answering with `handler`, counting requests per path kind and bytes served. */
function hostile(handler: (url: URL, counter: { bytes: number }) => Response) {
  const counter = { bytes: 0 };
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    requests.push(url.pathname + url.search);
    return handler(url, counter);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    /** Requests whose path and query include `part`. */
    count: (part: string) => requests.filter((r) => r.includes(part)).length,
    get bytes() {
      return counter.bytes;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const ROW = '[1704067200000,"1.5","2","1","1.5","10",1704067259999,"15",3,"5","7.5","0"],';
const ENC = new TextEncoder();

Deno.test("Hostile server (item 4): every Vision response has a total deadline and a size cap", async (t) => {
  await t.step("a zip that drips a byte every 50 ms fails at the attempt's deadline", async () => {
    await using server = hostile((url, counter) =>
      url.pathname.endsWith(".CHECKSUM")
        ? new Response(CHECKSUM_TEXT)
        : new Response(drip(50, counter))
    );
    // Idle time-out 1 s never fires: a byte comes every 50 ms.
    const client = new VisionClient({
      baseUrl: server.url,
      timeoutMs: 1_000,
      deadlineMs: 600,
      retry: { ...RETRY, attempts: 2 },
    });
    using dog = watchdog();
    const error = await client.fetchFile({ ...DAY, date: "2024-01-01", signal: dog.signal })
      .catch((e) => e);
    assert.ok(error instanceof NetworkError, String(error));
    assert.match(error.message, /not complete within 600 ms/);
    assert.equal(server.count(".zip.CHECKSUM"), 2);
    assert.equal(server.count(".zip") - server.count(".CHECKSUM"), 2);
  });

  await t.step(
    "a .CHECKSUM that drips fails within timeoutMs, retried like a time-out",
    async () => {
      await using server = hostile((url, counter) =>
        url.pathname.endsWith(".CHECKSUM") ? new Response(drip(20, counter)) : new Response("zip")
      );
      const client = new VisionClient({ baseUrl: server.url, timeoutMs: 300, retry: RETRY });
      using dog = watchdog();
      const error = await client.fetchFile({ ...DAY, date: "2024-01-01", signal: dog.signal })
        .catch((e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.match(error.message, /CHECKSUM: not complete within 300 ms/);
      assert.equal(server.count(".CHECKSUM"), RETRY.attempts);
    },
  );

  await t.step("an endless .CHECKSUM stops at 1 KiB, not retried", async () => {
    await using server = hostile((url, counter) =>
      url.pathname.endsWith(".CHECKSUM")
        ? new Response(endless(counter, new Uint8Array(16_384).fill(0x61)))
        : new Response("zip")
    );
    const client = new VisionClient({ baseUrl: server.url, retry: RETRY });
    using dog = watchdog();
    const error = await client.fetchFile({ ...DAY, date: "2024-01-01", signal: dog.signal })
      .catch((e) => e);
    assert.ok(error instanceof ResponseTooLargeError, String(error));
    assert.equal(error.code, "RESPONSE_TOO_LARGE");
    assert.equal(error.limit, 1024);
    assert.equal(server.count(".CHECKSUM"), 1);
    assert.ok(server.bytes < SERVED_BOUND, `${server.bytes} bytes served`);
  });

  await t.step(
    "an endless zip stops at what a daily 1d archive can hold, not retried",
    async () => {
      await using server = hostile((url, counter) =>
        url.pathname.endsWith(".CHECKSUM")
          ? new Response(CHECKSUM_TEXT)
          : new Response(endless(counter, new Uint8Array(65_536).fill(0x50)))
      );
      const client = new VisionClient({ baseUrl: server.url, retry: RETRY });
      using dog = watchdog();
      const error = await client.fetchFile({ ...DAY, date: "2024-01-01", signal: dog.signal })
        .catch((e) => e);
      assert.ok(error instanceof ResponseTooLargeError, String(error));
      assert.equal(error.limit, 65_536 + 384);
      assert.equal(server.count(".zip") - server.count(".CHECKSUM"), 1);
      assert.ok(server.bytes < SERVED_BOUND, `${server.bytes} bytes served`);
    },
  );

  await t.step(
    "a zip whose Content-Length passes the cap fails before its body is read",
    async () => {
      await using server = hostile((url) =>
        url.pathname.endsWith(".CHECKSUM")
          ? new Response(CHECKSUM_TEXT)
          : new Response(new Uint8Array(200_000))
      );
      const client = new VisionClient({ baseUrl: server.url, retry: RETRY });
      using dog = watchdog();
      const error = await client.fetchFile({ ...DAY, date: "2024-01-01", signal: dog.signal })
        .catch((e) => e);
      assert.ok(error instanceof ResponseTooLargeError, String(error));
      assert.equal(server.count(".zip") - server.count(".CHECKSUM"), 1);
    },
  );

  await t.step("a listing page that drips fails within timeoutMs", async () => {
    await using server = hostile((_url, counter) => new Response(drip(20, counter)));
    using dog = watchdog();
    const error = await listVisionFiles({ market: "spot", symbol: "BTCUSDT", interval: "1d" }, {
      listingUrl: server.url,
      timeoutMs: 300,
      retry: { ...RETRY, attempts: 1 },
      signal: dog.signal,
    }).catch((e) => e);
    assert.ok(error instanceof NetworkError, String(error));
    assert.match(error.message, /not complete within 300 ms/);
  });
});

Deno.test("Hostile server (item 5): a Retry-After past maxRetryAfterMs stops the host with the RateLimitError", async (t) => {
  const rateLimited = (after: string) =>
    hostile(() =>
      new Response('{"code":-1003,"msg":"Too many requests"}', {
        status: 429,
        headers: { "retry-after": after, "x-mbx-used-weight-1m": "6000" },
      })
    );
  const request = {
    symbol: "BTCUSDT",
    interval: "1h" as const,
    start: Date.UTC(2024, 0, 1),
    end: Date.UTC(2024, 0, 2),
  };

  await t.step("Retry-After: 3600 is not slept: the call and the next fail at once", async () => {
    await using server = rateLimited("3600");
    const scheduler = new WeightScheduler({ budget: 6000 });
    const client = new RestClient({ market: "spot", hosts: [server.url], scheduler, retry: RETRY });
    using dog = watchdog();
    const error = await client.fetchKlinesTable({ ...request, signal: dog.signal }).catch((e) => e);
    assert.ok(error instanceof RateLimitError, String(error));
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 3_600_000);
    assert.equal(server.requests.length, 1);
    // The host stays stopped for the Retry-After, like after a 418.
    await assert.rejects(client.fetchKlinesTable({ ...request, signal: dog.signal }), error);
    assert.equal(server.requests.length, 1);
  });

  await t.step("the cap is configurable; a wait within it is still waited out", async () => {
    await using server = rateLimited("2");
    const scheduler = new WeightScheduler({ budget: 6000 });
    const retry = { ...RETRY, maxRetryAfterMs: 1_000 };
    const client = new RestClient({ market: "spot", hosts: [server.url], scheduler, retry });
    using dog = watchdog();
    await assert.rejects(client.fetchKlinesTable({ ...request, signal: dog.signal }), {
      name: "RateLimitError",
      retryAfterMs: 2_000,
    });
    assert.equal(server.requests.length, 1);

    let calls = 0;
    await using brief = hostile(() =>
      ++calls === 1
        ? new Response("", { status: 429, headers: { "retry-after": "0.01" } })
        : Response.json([])
    );
    const waits = new RestClient({
      market: "spot",
      hosts: [brief.url],
      scheduler: new WeightScheduler({ budget: 6000 }),
      retry,
    });
    const { stats } = await waits.fetchKlinesTable({ ...request, signal: dog.signal });
    assert.equal(stats.rateLimited, 1);
    assert.equal(brief.requests.length, 2);
  });

  await t.step("through the manager: the default cap and retry.maxRetryAfterMs", async () => {
    const cases = [["3600", RETRY], ["2", { ...RETRY, maxRetryAfterMs: 1_000 }]] as const;
    for (const [after, retry] of cases) {
      await using server = rateLimited(after);
      await using dsm = new DataSourceManager({
        cache: false,
        endpoints: { vision: server.url, listing: server.url, rest: server.url },
        retry,
      });
      using dog = watchdog();
      const error = await dsm.getData({ ...request, source: "rest" }, { signal: dog.signal })
        .catch((e) => e);
      assert.ok(error instanceof RateLimitError, String(error));
      assert.equal(error.retryAfterMs, Number(after) * 1000);
      assert.equal(server.requests.length, 1);
    }
  });
});

Deno.test("Hostile server (item 7): a host that answers 500 to everything is stopped after a run of failures", async () => {
  await using server = hostile(() => new Response("oops", { status: 500 }));
  const logged: string[] = [];
  await using dsm = new DataSourceManager({
    cache: false,
    endpoints: { vision: server.url, listing: server.url, rest: server.url },
    retry: RETRY,
    logger: (message) => logged.push(message),
  });
  using dog = watchdog();
  // Six years of 1h: thousands of requests if every one were retried.
  const error = await dsm.getDataWithReport({
    symbol: "BTCUSDT",
    interval: "1h",
    start: "2018-01-01",
    end: "2024-01-01",
  }, { signal: dog.signal }).catch((e) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.ok(error.cause instanceof HostFailingError, String(error.cause));
  assert.equal(error.cause.host, server.url);
  assert.match(error.message, /10 failed requests in a row, the last: .*HTTP 500/);
  // The run that opens the circuit, and at most the requests already in flight.
  assert.ok(server.requests.length >= 10, `${server.requests.length} requests`);
  assert.ok(server.requests.length <= 10 + 16, `${server.requests.length} requests`);
  // The breaker says it once (the listing's fallback may quote it too).
  assert.equal(logged.filter((m) => m.startsWith(`Cannot use "${server.url}"`)).length, 1);
});

Deno.test("Hostile server (item 8): REST pages, error bodies and listings are read up to a cap", async (t) => {
  const request = {
    symbol: "BTCUSDT",
    interval: "1m",
    start: Date.UTC(2024, 0, 1),
    end: Date.UTC(2024, 0, 2),
  };

  await t.step(
    "an endless REST page stops at what `limit` rows can take, not retried",
    async () => {
      await using server = hostile((_url, counter) =>
        new Response(endless(counter, ENC.encode(ROW.repeat(500)), ENC.encode("[")), {
          headers: { "content-type": "application/json" },
        })
      );
      const client = new RestClient({
        market: "spot",
        hosts: [server.url],
        scheduler: new WeightScheduler({ budget: 6000 }),
        retry: RETRY,
      });
      using dog = watchdog();
      const error = await client.fetchKlinesTable({ ...request, signal: dog.signal }).catch((e) =>
        e
      );
      assert.ok(error instanceof ResponseTooLargeError, String(error));
      assert.equal(error.limit, 4096 + 1000 * 512);
      assert.equal(server.requests.length, 1);
      assert.ok(server.bytes < SERVED_BOUND, `${server.bytes} bytes served`);
    },
  );

  await t.step("an endless error body is read up to 64 KiB", async () => {
    await using server = hostile((_url, counter) =>
      new Response(endless(counter, new Uint8Array(65_536).fill(0x20), ENC.encode("{")), {
        status: 400,
      })
    );
    const client = new RestClient({
      market: "spot",
      hosts: [server.url],
      scheduler: new WeightScheduler({ budget: 6000 }),
      retry: RETRY,
    });
    using dog = watchdog();
    const error = await client.fetchKlinesTable({ ...request, signal: dog.signal }).catch((e) => e);
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.status, 400);
    assert.ok(server.bytes < SERVED_BOUND, `${server.bytes} bytes served`);
  });

  await t.step("an endless listing page stops at 2 MiB", async () => {
    await using server = hostile((_url, counter) =>
      new Response(
        endless(counter, ENC.encode("<Contents><Key>x</Key></Contents>".repeat(2000))),
      )
    );
    using dog = watchdog();
    const error = await listVisionFiles({ market: "spot", symbol: "BTCUSDT", interval: "1w" }, {
      listingUrl: server.url,
      retry: RETRY,
      signal: dog.signal,
    }).catch((e) => e);
    assert.ok(error instanceof ResponseTooLargeError, String(error));
    assert.equal(error.limit, 2 * 1024 * 1024);
    assert.equal(error.unit, "bytes");
    assert.equal(server.requests.length, 1);
    assert.ok(server.bytes < SERVED_BOUND, `${server.bytes} bytes served`);
  });

  await t.step("a listing truncated forever stops at maxPages", async () => {
    let page = 0;
    await using server = hostile((url) => {
      const prefix = url.searchParams.get("prefix")!;
      const key = `${prefix}junk-${String(++page).padStart(9, "0")}`;
      return new Response(
        `<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>${key}</Key></Contents></ListBucketResult>`,
      );
    });
    using dog = watchdog();
    const error = await listVisionFiles({ market: "spot", symbol: "BTCUSDT", interval: "1w" }, {
      listingUrl: server.url,
      retry: RETRY,
      maxPages: 20,
      signal: dog.signal,
    }).catch((e) => e);
    assert.ok(error instanceof ResponseTooLargeError, String(error));
    assert.equal(error.unit, "pages");
    assert.equal(error.limit, 20);
    assert.equal(server.requests.length, 20);
  });
});
