/**
 * Subprocess of the trade store permission test: opens the trade cache with
 * the permissions it was started with, writes and reads one day, and
 * prints what happened as JSON. Argument: the cache dir.
 *
 * @module
 */
import { openTradeStore } from "../../src/cache/open_trade_store.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";

const logs: string[] = [];
const store = await openTradeStore({
  dir: Deno.args[0],
  logger: (m) => logs.push(m),
  now: () => Date.UTC(2030, 0, 1),
});
const key = { market: "um", dataset: "trades", symbol: "BTCUSDT", day: "2024-01-01" } as const;
const csv = new TextEncoder().encode(`1,42000.5,0.01,420.005,${Date.UTC(2024, 0, 1)},true\n`);
const rows = decodeTradeCsv(csv, { dataset: "trades", market: "um" });
const written = store ? await store.write(key, rows, { source: "REST" }) : false;
const read = store ? await store.read(key) : undefined;
console.log(JSON.stringify({
  open: store !== undefined,
  writable: store?.writable ?? false,
  logs,
  written,
  rows: read?.metadata.rows ?? null,
}));
