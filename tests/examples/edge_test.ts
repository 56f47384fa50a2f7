import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { tableFromIPC } from "apache-arrow";
import { createHandler } from "../../examples/edge.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { oracleTable, plainRows } from "../_spot_oracle.ts";

const NOW = Date.UTC(2024, 5, 1);
const QUERY = "symbol=BTCUSDT&interval=1h&start=2024-01-01&end=2024-01-04";

function handlerFor(url: string) {
  return createHandler({
    endpoints: { vision: url, listing: url, rest: url },
    now: () => NOW,
  });
}

Deno.test("edge handler streams Arrow IPC that tableFromIPC reads back as getData's table", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const handler = handlerFor(emulator.url);
  const res = await handler(new Request(`http://edge/klines?${QUERY}&format=arrow`));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/vnd.apache.arrow.stream");
  const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
  const want = await oracleTable(emulator.url, NOW);
  assert.equal(table.numRows, 72);
  assert.deepEqual(table.schema.fields.map(String), want.schema.fields.map(String));
  assert.deepEqual(plainRows(table), plainRows(want));
  // Arrow is the default format.
  const plain = await handler(new Request(`http://edge/klines?${QUERY}`));
  assert.equal(tableFromIPC(new Uint8Array(await plain.arrayBuffer())).numRows, 72);
});

Deno.test("edge handler streams a JSON array and CSV with the exact values", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const handler = handlerFor(emulator.url);
  const want = await oracleTable(emulator.url, NOW);
  const names = want.schema.fields.map((f) => f.name);

  const res = await handler(new Request(`http://edge/klines?${QUERY}&format=json`));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^application\/json/);
  const rows = await res.json() as Record<string, unknown>[];
  assert.deepEqual(rows.map((r) => names.map((n) => r[n])), plainRows(want));

  const csv = await handler(new Request(`http://edge/klines?${QUERY}&format=csv&market=spot`));
  assert.match(csv.headers.get("content-type")!, /^text\/csv/);
  const [header, ...lines] = (await csv.text()).trimEnd().split("\n");
  assert.deepEqual(header.split(","), names);
  const parsed = lines.map((l) => l.split(",").map((x, i) => i === 11 ? x : Number(x)));
  assert.deepEqual(parsed, plainRows(want));

  // A range wholly after now is refused as a bad request, in each format.
  const later = "symbol=BTCUSDT&interval=1h&start=2024-06-02&end=2024-06-03";
  for (const format of ["json", "arrow", "csv"]) {
    const res = await handler(new Request(`http://edge/klines?${later}&format=${format}`));
    assert.equal(res.status, 400, format);
    assert.equal((await res.json()).code, "INVALID_RANGE", format);
  }
});

Deno.test("edge handler answers 400 for bad input, 404, 405 and 502", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const handler = handlerFor(emulator.url);
  const bad: [string, string][] = [
    ["symbol=BTC/USDT&interval=1h&start=2024-01-01&end=2024-01-02", "INVALID_SYMBOL"],
    ["market=cm&symbol=BTCUSDT&interval=1h&start=2024-01-01&end=2024-01-02", "INVALID_SYMBOL"],
    ["symbol=BTCUSDT&interval=7m&start=2024-01-01&end=2024-01-02", "INVALID_INTERVAL"],
    ["symbol=BTCUSDT&interval=1h&end=2024-01-02", "INVALID_TIME"],
    ["symbol=BTCUSDT&interval=1h&start=2024-01-02&end=2024-01-01", "INVALID_RANGE"],
    ["market=margin&symbol=BTCUSDT&interval=1h&start=2024-01-01&end=2024-01-02", "INVALID_MARKET"],
    [`${QUERY}&format=xml`, "INVALID_FORMAT"],
  ];
  for (const [query, code] of bad) {
    const res = await handler(new Request(`http://edge/klines?${query}`));
    assert.equal(res.status, 400, query);
    assert.match(res.headers.get("content-type")!, /^application\/json/);
    const body = await res.json();
    assert.equal(body.code, code, query);
    assert.equal(typeof body.message, "string");
  }
  assert.match(
    (await (await handler(new Request(`http://edge/klines?${bad[1][0]}`))).json()).message,
    /did you mean BTCUSD_PERP/,
  );
  const missing = await handler(new Request("http://edge/other"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await handler(new Request(`http://edge/klines?${QUERY}`, { method: "POST" }));
  assert.equal(post.status, 405);
  await post.body?.cancel();
  // Before the listing: no source has anything.
  const early = "symbol=NEWUSDT&interval=1h&start=2024-01-01&end=2024-01-02";
  const none = await handler(new Request(`http://edge/klines?${early}`));
  assert.equal(none.status, 502);
  assert.equal((await none.json()).code, "DATA_NOT_AVAILABLE");
});

Deno.test("edge handler: cancelling the body stops the fetch", async () => {
  await using emulator = await startEmulator({ now: NOW, latencyMs: 5 });
  const handler = handlerFor(emulator.url);
  for (const format of ["arrow", "json", "csv"]) {
    const month = "symbol=BTCUSDT&interval=1m&start=2024-01-01&end=2024-02-01";
    const res = await handler(new Request(`http://edge/klines?${month}&format=${format}`));
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).done, false);
    await reader.cancel();
  }
  // Nothing keeps running: the sanitizers would report leaked ops or timers.
});

Deno.test("edge function serves with exactly --allow-net under deno serve", async () => {
  const edge = fileURLToPath(new URL("../../examples/edge.ts", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "--allow-net", "--host", "127.0.0.1", "--port", "0", edge],
    stdout: "piped",
    stderr: "piped",
    env: { DSM_VISION_URL: "http://127.0.0.1:9", NO_COLOR: "1" },
  }).spawn();
  try {
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    let port: string | undefined;
    while (port === undefined) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`deno serve ended: ${seen}`);
      seen += value;
      port = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen)?.[1];
    }
    await lines.cancel();
    const res = await fetch(
      `http://127.0.0.1:${port}/klines?symbol=BTC/USDT&interval=1h&start=2024-01-01&end=2024-01-02`,
    );
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, "INVALID_SYMBOL");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel();
  }
});
