/**
 * The source chain through the manager against the emulator: which archive
 * or REST span serves each day, how a failed or missing archive falls back,
 * what is asked of REST, and what the report says.
 */
import assert from "node:assert/strict";
import { HttpError } from "../../src/core/errors.ts";
import { assertRows, assertSources, groundTruth, rowsOf } from "./_ground_truth.ts";
import {
  archives,
  binanceError,
  BTC,
  D1,
  D2,
  D3,
  DAY,
  DAY1,
  emulator,
  H,
  managerOn,
  restSpans,
  truth,
} from "./_source_chain_setup.ts";
import { recordingFetch } from "./_recording_fetch.ts";

Deno.test("A closed day is served from its verified daily archive, and REST is not asked", async () => {
  await using emu = await emulator();
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end: D2 });
  assertRows(table, truth(D1, D2));
  assertSources(table, () => "VISION");
  assert.deepEqual(report.partitions.map((p) => p.sources), [["vision-daily"]]);
  assert.deepEqual(archives(rec.urls), [DAY1]);
  assert.equal(emu.stats.requests.rest, 0);
  assert.deepEqual(report.failures, []);
  assert.deepEqual(report.gaps, []);
  // The digest reported is the one Vision publishes beside the archive.
  const published = await fetch(`${emu.url}/data/spot/daily/klines/BTCUSDT/1h/${DAY1}.CHECKSUM`);
  assert.equal(report.partitions[0].sha256, (await published.text()).split(/\s+/)[0]);
});

Deno.test("A missing monthly archive: the month is served from its daily archives, without REST", async () => {
  await using emu = await emulator({ missingFiles: ["BTCUSDT-1h-2024-01.zip"] });
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const end = Date.UTC(2024, 1, 1);
  const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end });
  assertRows(table, truth(D1, end));
  assertSources(table, () => "VISION");
  assert.equal(report.partitions.length, 31);
  assert.ok(report.partitions.every((p) => p.sources.join() === "vision-daily"));
  const asked = archives(rec.urls);
  assert.equal(asked.filter((name) => name === "BTCUSDT-1h-2024-01.zip").length, 1);
  assert.equal(asked.filter((name) => /^BTCUSDT-1h-2024-01-\d\d\.zip$/.test(name)).length, 31);
  assert.equal(emu.stats.requests.rest, 0);
  assert.deepEqual(report.failures, []);
});

for (const listing of ["listed", "unreachable"] as const) {
  Deno.test(`A missing daily archive is served from REST for that day alone (listing ${listing})`, async () => {
    const day2 = "BTCUSDT-1h-2024-01-02.zip";
    await using emu = await emulator({ missingFiles: [day2] });
    const rec = recordingFetch((url) =>
      listing === "unreachable" && url.pathname === "/"
        ? new Response("down", { status: 503 })
        : undefined
    );
    await using dsm = managerOn(emu.url, { fetch: rec.fetch });
    const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end: D3 });
    assertRows(table, truth(D1, D3));
    assertSources(table, (t) => t < D2 ? "VISION" : "REST");
    assert.deepEqual(report.partitions.map((p) => p.sources), [["vision-daily"], ["rest"]]);
    // The listing leaves it out; without the listing it is asked for, and 404s.
    assert.deepEqual(archives(rec.urls), listing === "listed" ? [DAY1] : [DAY1, day2]);
    assert.deepEqual(restSpans(rec.urls), [[D2, D3]]);
    assert.equal(report.requests.restCalls, 1);
    assert.equal(report.partial, false);
    assert.deepEqual(report.failures, []);
  });
}

Deno.test("An archive failing its checksum is reported and its day served from REST; a hole only REST shows is unconfirmed", async () => {
  const halt = [{ start: D1 + 5 * H, end: D1 + 6 * H }];
  await using emu = await emulator({ checksumMismatch: [DAY1], gaps: halt });
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end: D3 });
  assertRows(table, truth(D1, D3, halt));
  assertSources(table, (t) => t < D2 ? "REST" : "VISION");
  assert.deepEqual(report.failures.map((f) => [f.partition, f.code]), [[
    "2024-01-01",
    "CHECKSUM_MISMATCH",
  ]]);
  assert.deepEqual(report.partitions.map((p) => [p.sources, p.sha256 === undefined]), [
    [["rest"], true],
    [["vision-daily"], false],
  ]);
  assert.deepEqual(restSpans(rec.urls), [[D1, D2]]);
  // Vision's archive of that day could not be trusted: REST alone lacks the hour.
  assert.deepEqual(report.gaps, [{ ...halt[0], slots: 1, class: "unconfirmed" }]);
  assert.equal(report.partial, false);
});

Deno.test("The rows missing from a partial archive are filled from REST, each row naming its source", async () => {
  await using emu = await emulator({ partialFiles: [DAY1] });
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end: D2 });
  assertRows(table, truth(D1, D2));
  const sources = rowsOf(table).sources;
  const kept = sources.indexOf("REST");
  assert.ok(kept >= 4 && kept <= 20, `the archive kept ${kept} rows`);
  assertSources(table, (t) => t < D1 + kept * H ? "VISION" : "REST");
  // Only the missing tail is asked of REST.
  assert.deepEqual(restSpans(rec.urls), [[D1 + kept * H, D2]]);
  assert.deepEqual(report.partitions[0].sources, ["vision-daily", "rest"]);
  assert.deepEqual(report.gaps, []);
  assert.deepEqual(report.failures, []);
});

Deno.test("Each hole of an archive is asked of REST, and holes both sources lack are exchange gaps", async () => {
  const halts = [{ start: D1 + 3 * H, end: D1 + 5 * H }, { start: D1 + 20 * H, end: D1 + 21 * H }];
  await using emu = await emulator({ gaps: halts });
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end: D2 });
  assertRows(table, truth(D1, D2, halts));
  assert.equal(table.numRows, 21);
  assertSources(table, () => "VISION");
  assert.deepEqual(restSpans(rec.urls), halts.map((h) => [h.start, h.end]));
  // REST had no row for them: only Vision is named.
  assert.deepEqual(report.partitions[0].sources, ["vision-daily"]);
  assert.deepEqual(report.gaps, [
    { ...halts[0], slots: 2, class: "exchange" },
    { ...halts[1], slots: 1, class: "exchange" },
  ]);
  assert.equal(report.partial, false);
});

Deno.test("A day whose archive is missing and whose REST span fails is unfetched and reported; the others are served", async () => {
  await using emu = await emulator({ missingFiles: [DAY1] });
  const rec = recordingFetch((url) =>
    url.pathname.endsWith("/klines") ? binanceError(503, -1001, "Internal error") : undefined
  );
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const request = { ...BTC, start: D1, end: D3 };
  const { table, report } = await dsm.getDataWithReport(request);
  assertRows(table, truth(D2, D3));
  assert.deepEqual(report.partitions.map((p) => p.sources), [[], ["vision-daily"]]);
  assert.deepEqual(report.gaps, [{ start: D1, end: D2, slots: 24, class: "unfetched" }]);
  assert.equal(report.partial, true);
  assert.deepEqual(report.failures.map((f) => [f.partition, f.code]), [[
    "2024-01-01",
    "HTTP_ERROR",
  ]]);
  const spans = restSpans(rec.urls);
  assert.ok(spans.length > 0 && spans.every(([s, e]) => s === D1 && e === D2), String(spans));
  // A 5xx that outlived the retries is absorbed; with strict, it is the cause of the refusal.
  await assert.rejects(dsm.getData({ ...request, strict: true }), (e: unknown) => {
    assert.ok(e instanceof Error && e.name === "DataNotAvailableError", String(e));
    assert.ok(e.cause instanceof HttpError && e.cause.status === 503, String(e.cause));
    return true;
  });
});

Deno.test("With source vision, a day without an archive is unfetched and REST is never asked", async () => {
  await using emu = await emulator({ missingFiles: [DAY1] });
  await using dsm = managerOn(emu.url);
  const { table, report } = await dsm.getDataWithReport({
    ...BTC,
    start: D1,
    end: D3,
    source: "vision",
  });
  assertRows(table, truth(D2, D3));
  assert.deepEqual(report.gaps, [{ start: D1, end: D2, slots: 24, class: "unfetched" }]);
  assert.deepEqual(report.failures.map((f) => [f.partition, f.code, f.message]), [[
    "2024-01-01",
    "SOURCE_NOT_ALLOWED",
    '2024-01-01 not on Vision, and REST not allowed (source "vision")',
  ]]);
  assert.equal(emu.stats.requests.rest, 0);
});

Deno.test("REST serves consecutive days in one request", async () => {
  await using emu = await emulator();
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const { table, report } = await dsm.getDataWithReport({
    ...BTC,
    start: D1,
    end: D3,
    source: "rest",
  });
  assertRows(table, truth(D1, D3));
  assertSources(table, () => "REST");
  assert.deepEqual(restSpans(rec.urls), [[D1, D3]]);
  assert.equal(report.requests.restCalls, 1);
  assert.deepEqual(report.partitions.map((p) => p.sources), [["rest"], ["rest"]]);
  assert.deepEqual(archives(rec.urls), []);
});

Deno.test("An unknown symbol's REST 400 is thrown, not returned as a partial result", async () => {
  await using emu = await emulator();
  await using dsm = managerOn(emu.url);
  for (const source of ["rest", "auto"] as const) {
    await assert.rejects(
      dsm.getDataWithReport({ ...BTC, symbol: "NOSUCHUSDT", start: D1, end: D3, source }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError, `${source}: ${e}`);
        assert.equal(e.status, 400);
        assert.equal(e.binanceCode, -1121);
        return true;
      },
    );
  }
});

Deno.test("Rows REST returned before a ban are kept; only the rest of the day is unfetched", async () => {
  await using emu = await emulator();
  // A REST host of its own (a ban lasts for the process), served by the emulator:
  // the first page (1,000 minutes) is answered, the IP is banned at the second.
  const banned = "http://banned-rest-host.invalid";
  const viaEmulator: typeof fetch = (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    if (url.origin === banned && url.searchParams.get("startTime") !== String(D1)) {
      return Promise.resolve(binanceError(418, -1003, "Way too much request weight used"));
    }
    return fetch(url.origin === banned ? `${emu.url}${url.pathname}${url.search}` : url, init);
  };
  await using dsm = managerOn(emu.url, {
    fetch: viaEmulator,
    endpoints: { vision: emu.url, listing: emu.url, rest: banned },
  });
  const { table, report } = await dsm.getDataWithReport({
    ...BTC,
    interval: "1m",
    start: D1,
    end: D2,
    source: "rest",
  });
  const cut = D1 + 1000 * 60_000;
  assertRows(table, groundTruth("spot", "BTCUSDT", "1m", D1, cut));
  assert.deepEqual(report.gaps, [{ start: cut, end: D2, slots: 440, class: "unfetched" }]);
  assert.equal(report.partial, true);
  assert.deepEqual(report.failures.map((f) => f.code), ["RATE_LIMITED"]);
  assert.match(report.failures[0].message, /banned \(HTTP 418\)/);
});

Deno.test("Aborting a fetch while an archive downloads rejects with the abort reason", async () => {
  await using emu = await emulator();
  const controller = new AbortController();
  const reason = new Error("stop");
  const rec = recordingFetch((url) => {
    if (url.pathname.endsWith(".zip")) controller.abort(reason);
    return undefined;
  });
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const request = { ...BTC, start: D1, end: D1 + 3 * DAY };
  await assert.rejects(
    dsm.getData(request, { signal: controller.signal }),
    (e) => e === reason,
  );
  const again = new AbortController();
  const stopAt = recordingFetch((url) => {
    if (url.pathname.endsWith(".zip")) again.abort(reason);
    return undefined;
  });
  await using streaming = managerOn(emu.url, { fetch: stopAt.fetch });
  const { batches, report } = streaming.streamWithReport(request, { signal: again.signal });
  await assert.rejects(Array.fromAsync(batches), (e) => e === reason);
  await assert.rejects(report, (e) => e === reason);
});
