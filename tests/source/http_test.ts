import assert from "node:assert/strict";
import {
  backoffDelay,
  fetchOnce,
  HostCircuitBreaker,
  isConnectionError,
  isPermissionError,
  isRetryable,
  maxRetryAfter,
  sleep,
  withRetry,
} from "../../src/source/http.ts";
import {
  causeMessage,
  HostFailingError,
  HostUnreachableError,
  HttpError,
  NetworkError,
  RateLimitError,
} from "../../src/core/errors.ts";

/** A server whose handler waits until the client goes away. */
function silentServer() {
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    count++;
    const { promise, resolve } = Promise.withResolvers<Response>();
    request.signal.addEventListener("abort", () => resolve(new Response("late")));
    return promise;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/x`,
    get count() {
      return count;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A TCP server that closes every connection at once, without answering. */
function resettingServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const conn of listener) conn.close();
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/x`,
    async [Symbol.asyncDispose]() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

Deno.test("fetchOnce returns the response whatever its status", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      new Response(request.headers.get("x-test"), { status: 503, headers: { "x-a": "1" } }),
  );
  const response = await fetchOnce(`http://127.0.0.1:${server.addr.port}/`, {
    headers: { "x-test": "hello" },
  });
  assert.equal(response.status, 503);
  assert.equal(await response.text(), "hello");
});

Deno.test("fetchOnce turns a time-out into a NetworkError", async () => {
  await using server = silentServer();
  await assert.rejects(fetchOnce(server.url, { timeoutMs: 50 }), (e) => {
    assert.ok(e instanceof NetworkError);
    assert.equal(e.url, server.url);
    assert.match(e.message, /no response within 50 ms/);
    return true;
  });
});

Deno.test("fetchOnce turns a reset connection into a NetworkError", async () => {
  await using server = resettingServer();
  await assert.rejects(fetchOnce(server.url), (e) => {
    assert.ok(e instanceof NetworkError);
    assert.equal(e.code, "NETWORK_ERROR");
    assert.ok(e.cause !== undefined);
    return true;
  });
});

Deno.test("fetchOnce rejects with the signal's reason when aborted", async () => {
  await using server = silentServer();
  const controller = new AbortController();
  const reason = new Error("user stop");
  const pending = fetchOnce(server.url, { signal: controller.signal });
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(pending, (e) => e === reason);
  await assert.rejects(
    fetchOnce(server.url, { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
});

Deno.test("fetchOnce uses the injected fetch and wraps its failures", async () => {
  const calls: string[] = [];
  const ok = await fetchOnce("http://a/1", {
    fetch: (input) => {
      calls.push(String(input));
      return Promise.resolve(new Response("x"));
    },
  });
  assert.equal(await ok.text(), "x");
  assert.deepEqual(calls, ["http://a/1"]);
  await assert.rejects(
    fetchOnce("http://a/2", { fetch: () => Promise.reject(new TypeError("connection reset")) }),
    { name: "NetworkError", message: "Cannot fetch http://a/2: connection reset" },
  );
});

Deno.test("backoffDelay stays within [d/2, d] with d = base * 2^(n-1), capped", () => {
  const retry = { baseDelayMs: 100, maxDelayMs: 5000 };
  for (let attempt = 1; attempt <= 40; attempt++) {
    const d = Math.min(5000, 100 * 2 ** (attempt - 1));
    assert.equal(backoffDelay(attempt, retry, () => 0), d / 2);
    assert.equal(backoffDelay(attempt, retry, () => 0.9999999999), d);
    for (let i = 0; i < 20; i++) {
      const v = backoffDelay(attempt, retry);
      assert.ok(v >= d / 2 && v <= d, `${v} outside [${d / 2}, ${d}]`);
    }
  }
  assert.equal(backoffDelay(1, {}, () => 0), 125);
  assert.equal(backoffDelay(100, {}, () => 0.9999999999), 10_000);
});

Deno.test("sleep waits and can be aborted", async () => {
  await sleep(1);
  const reason = new Error("stop");
  const controller = new AbortController();
  const pending = sleep(60_000, controller.signal);
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  await assert.rejects(sleep(1, AbortSignal.abort(reason)), (e) => e === reason);
});

Deno.test("isRetryable: network errors and 5xx, not 4xx nor rate limits", () => {
  assert.equal(isRetryable(new NetworkError("u", "reset")), true);
  assert.equal(isRetryable(new HttpError(500, "u")), true);
  assert.equal(isRetryable(new HttpError(504, "u")), true);
  assert.equal(isRetryable(new HttpError(404, "u")), false);
  assert.equal(isRetryable(new RateLimitError(429, "u", 1000)), false);
  assert.equal(isRetryable(new TypeError("bug")), false);
});

Deno.test("withRetry retries transient errors with growing delays, then throws the last", async () => {
  const delays: number[] = [];
  let calls = 0;
  const last = new HttpError(503, "u");
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(calls < 4 ? new NetworkError("u", `reset ${calls}`) : last);
    }, {
      retry: { attempts: 4, baseDelayMs: 2, maxDelayMs: 100 },
      random: () => 0,
      onRetry: (attempt, error, delay) => {
        assert.ok(error instanceof NetworkError);
        assert.equal(attempt, delays.length + 1);
        delays.push(delay);
      },
    }),
    (e) => e === last,
  );
  assert.equal(calls, 4);
  assert.deepEqual(delays, [1, 2, 4]);
});

Deno.test("withRetry does not retry what is not retryable", async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(new HttpError(400, "u"));
    }),
    { status: 400 },
  );
  assert.equal(calls, 1);
});

Deno.test("withRetry waits a RateLimitError's Retry-After when told it is retryable", async () => {
  const delays: number[] = [];
  let calls = 0;
  const value = await withRetry((attempt) => {
    calls++;
    return attempt === 1
      ? Promise.reject(new RateLimitError(429, "u", 3))
      : Promise.resolve(attempt);
  }, {
    isRetryable: (e) => e instanceof RateLimitError,
    onRetry: (_a, _e, delay) => delays.push(delay),
  });
  assert.equal(value, 2);
  assert.equal(calls, 2);
  assert.deepEqual(delays, [3]);
});

Deno.test("withRetry stops at once when the signal aborts during a wait or a call", async () => {
  const reason = new Error("stop");
  const controller = new AbortController();
  let calls = 0;
  const pending = withRetry(() => {
    calls++;
    return Promise.reject(new NetworkError("u", "reset"));
  }, { signal: controller.signal, retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(pending, (e) => e === reason);
  assert.equal(calls, 1);

  const second = new AbortController();
  await assert.rejects(
    withRetry(() => {
      second.abort(reason);
      return Promise.reject(new HttpError(400, "u"));
    }, { signal: second.signal }),
    (e) => e === reason,
  );
  await assert.rejects(
    withRetry(() => Promise.resolve(1), { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
});

Deno.test("withRetry treats attempts below 1, or not a number, sanely", async () => {
  for (const attempts of [0, -3, Number.NaN]) {
    let calls = 0;
    await assert.rejects(
      withRetry(() => {
        calls++;
        return Promise.reject(new NetworkError("u", "reset"));
      }, { retry: { attempts, baseDelayMs: 0 } }),
      NetworkError,
    );
    assert.equal(calls, Number.isNaN(attempts) ? 5 : 1, `attempts ${attempts}`);
  }
});

Deno.test("fetchOnce passes a permission refusal through unwrapped and withRetry does not retry it", async () => {
  const refusal = new Deno.errors.NotCapable('Requires net access to "127.0.0.1:9"');
  let calls = 0;
  const fetchStub = () => {
    calls++;
    return Promise.reject(refusal);
  };
  await assert.rejects(
    withRetry(() => fetchOnce("http://127.0.0.1:9/x", { fetch: fetchStub }), {
      retry: { attempts: 5, baseDelayMs: 1 },
    }),
    (e) => e === refusal,
  );
  assert.equal(calls, 1);
  assert.equal(isPermissionError(refusal), true);
  assert.equal(isPermissionError(new Error("x")), false);
});

/** A loopback URL nothing listens on: connections to it are refused. */
function refusedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}/x`;
}

/** Deno's failure without DNS, as a fetch that counts its calls. */
function dnsFailing(counter: { calls: number }): typeof fetch {
  return () => {
    counter.calls++;
    return Promise.reject(
      new TypeError(
        "error sending request for url (https://api.binance.com/x): client error (Connect): " +
          "dns error: failed to lookup address information: Name or service not known",
      ),
    );
  };
}

Deno.test("fetchOnce keeps the runtime's reason of a refused connection in its message and cause", async () => {
  const url = refusedUrl();
  await assert.rejects(fetchOnce(url), (e) => {
    assert.ok(e instanceof NetworkError);
    assert.match(e.message, /Connection refused/);
    assert.match(causeMessage(e.cause), /Connection refused/);
    assert.equal(isConnectionError(e), true);
    return true;
  });
});

Deno.test("isConnectionError tells DNS, refused and TLS failures from resets and time-outs", async () => {
  await using server = resettingServer();
  const reset = await fetchOnce(server.url).catch((e) => e);
  assert.ok(reset instanceof NetworkError);
  assert.equal(isConnectionError(reset), false);
  const timeout = new NetworkError("u", "Cannot fetch u: no response within 50 ms");
  assert.equal(isConnectionError(timeout), false);
  const dns = await fetchOnce("https://x.invalid/", { fetch: dnsFailing({ calls: 0 }) }).catch((
    e,
  ) => e);
  assert.equal(isConnectionError(dns), true);
  const tls = new TypeError("fetch failed", {
    cause: new Error("client error (Connect): invalid peer certificate: UnknownIssuer"),
  });
  assert.equal(isConnectionError(tls), true);
});

Deno.test("withRetry stops after the third refused connection once the host's circuit is open", async () => {
  const url = refusedUrl();
  const opened: HostUnreachableError[] = [];
  const breaker = new HostCircuitBreaker({ onOpen: (e) => opened.push(e) });
  let attempts = 0;
  const error = await withRetry(() => {
    attempts++;
    return fetchOnce(url, { breaker });
  }, { retry: { attempts: 10, baseDelayMs: 1 } }).catch((e) => e);
  assert.equal(attempts, 3);
  assert.ok(error instanceof HostUnreachableError);
  assert.ok(error instanceof NetworkError);
  assert.equal(isRetryable(error), false);
  assert.equal(error.host, new URL(url).origin);
  assert.match(causeMessage(error.cause), /Connection refused/);
  assert.equal(opened.length, 1);
  // Later requests to the host fail at once, with the same error, and say nothing more.
  let calls = 0;
  const counting: typeof fetch = (input, init) => {
    calls++;
    return fetch(input, init);
  };
  await assert.rejects(fetchOnce(`${new URL(url).origin}/y`, { breaker, fetch: counting }), {
    name: "HostUnreachableError",
  });
  assert.equal(calls, 0);
  assert.equal(opened.length, 1);
});

Deno.test("HostCircuitBreaker counts connection failures in a row per host; a response closes it", async () => {
  const counter = { calls: 0 };
  const fail = dnsFailing(counter);
  let t = 0;
  const breaker = new HostCircuitBreaker({ threshold: 2, openMs: 1000, now: () => t });
  const a = "https://a.invalid/x", b = "https://b.invalid/x";
  await fetchOnce(a, { fetch: fail, breaker }).catch(() => {});
  // A response from the host in between starts the count again.
  await fetchOnce(a, { fetch: () => Promise.resolve(new Response("ok")), breaker });
  await fetchOnce(a, { fetch: fail, breaker }).catch(() => {});
  assert.equal(breaker.isOpen(a), false);
  // Resets and HTTP errors do not count.
  breaker.failed(a, new TypeError("connection reset by peer"));
  assert.equal(breaker.isOpen(a), false);
  await assert.rejects(fetchOnce(a, { fetch: fail, breaker }), { name: "HostUnreachableError" });
  assert.equal(breaker.isOpen(a), true);
  assert.equal(breaker.isOpen(b), false);
  assert.equal(counter.calls, 3);
  await assert.rejects(fetchOnce(a, { fetch: fail, breaker }), { name: "HostUnreachableError" });
  assert.equal(counter.calls, 3);
  // After openMs requests go out again; one more connection failure opens it again.
  t = 1000;
  assert.equal(breaker.isOpen(a), false);
  await assert.rejects(fetchOnce(a, { fetch: fail, breaker }), { name: "HostUnreachableError" });
  assert.equal(counter.calls, 4);
  assert.equal(breaker.isOpen(a), true);
});

Deno.test("HostCircuitBreaker opens after a run of 5xx answers; an answer below 500 starts the count again", async () => {
  let t = 0;
  const opened: HostUnreachableError[] = [];
  const breaker = new HostCircuitBreaker({
    failureThreshold: 3,
    openMs: 1000,
    now: () => t,
    onOpen: (e) => opened.push(e),
  });
  let calls = 0;
  const answer = (status: number): typeof fetch => () => {
    calls++;
    return Promise.resolve(new Response("body", { status }));
  };
  const url = "https://a.invalid/x";
  assert.equal((await fetchOnce(url, { fetch: answer(500), breaker })).status, 500);
  assert.equal((await fetchOnce(url, { fetch: answer(503), breaker })).status, 503);
  // A 404 (or a 429) is an answer: the run starts again.
  assert.equal((await fetchOnce(url, { fetch: answer(429), breaker })).status, 429);
  assert.equal((await fetchOnce(url, { fetch: answer(500), breaker })).status, 500);
  assert.equal((await fetchOnce(url, { fetch: answer(502), breaker })).status, 502);
  assert.equal(breaker.isOpen(url), false);
  // A reset counts too; the third failure in a row opens the circuit.
  assert.equal(breaker.failed(url, new TypeError("connection reset by peer")), opened[0]);
  assert.equal(opened.length, 1);
  assert.ok(opened[0] instanceof HostFailingError);
  assert.equal(opened[0].failures, 3);
  assert.equal(isRetryable(opened[0]), false);
  assert.match(opened[0].message, /3 failed requests in a row, the last: connection reset/);
  await assert.rejects(fetchOnce(url, { fetch: answer(200), breaker }), opened[0]);
  assert.equal(calls, 5);
  // After openMs requests go out again; a 500 opens it again, and its body is cancelled.
  t = 1000;
  await assert.rejects(fetchOnce(url, { fetch: answer(500), breaker }), {
    name: "HostFailingError",
    message: /4 failed requests in a row, the last: .*HTTP 500/,
  });
  assert.equal(opened.length, 2);
});

Deno.test("HostCircuitBreaker counts time-outs towards the run of failures", async () => {
  await using server = silentServer();
  const breaker = new HostCircuitBreaker({ failureThreshold: 2 });
  await assert.rejects(fetchOnce(server.url, { timeoutMs: 20, breaker }), {
    name: "NetworkError",
    message: /no response within 20 ms/,
  });
  await assert.rejects(fetchOnce(server.url, { timeoutMs: 20, breaker }), {
    name: "HostFailingError",
    message: /2 failed requests in a row, the last: .*no response within 20 ms/,
  });
  assert.equal(server.count, 2);
});

Deno.test("withRetry does not wait a Retry-After longer than maxRetryAfterMs", async () => {
  let calls = 0;
  const hour = new RateLimitError(429, "u", 3_600_000);
  await assert.rejects(
    withRetry(() => (calls++, Promise.reject(hour)), {
      isRetryable: (e) => e instanceof RateLimitError,
    }),
    hour,
  );
  assert.equal(calls, 1);
  assert.equal(maxRetryAfter(), 120_000);
  const delays: number[] = [];
  const value = await withRetry(
    (attempt) =>
      attempt === 1 ? Promise.reject(new RateLimitError(429, "u", 5)) : Promise.resolve("ok"),
    {
      retry: { maxRetryAfterMs: 5 },
      isRetryable: (e) => e instanceof RateLimitError,
      onRetry: (_a, _e, delay) => delays.push(delay),
    },
  );
  assert.equal(value, "ok");
  assert.deepEqual(delays, [5]);
  await assert.rejects(
    withRetry(() => Promise.reject(new RateLimitError(429, "u", 6)), {
      retry: { maxRetryAfterMs: 5 },
      isRetryable: (e) => e instanceof RateLimitError,
    }),
    { name: "RateLimitError", retryAfterMs: 6 },
  );
});
