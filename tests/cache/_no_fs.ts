/**
 * Subprocess of the permission tests: opens the cache with the permissions
 * it was started with and prints what happened as JSON.
 * Argument: the cache dir, or "" for the default root.
 *
 * @module
 */
import { openKlineStore } from "../../src/cache/open_kline_store.ts";
import { allocKlineColumns, klineBatch } from "../../src/core/schema.ts";

const logs: string[] = [];
const dir = Deno.args[0] || undefined;
const store = await openKlineStore({
  dir,
  logger: (m) => logs.push(m),
  now: () => Date.UTC(2030, 0, 1),
});
const key = { market: "spot", symbol: "BTCUSDT", interval: "1d", partition: "2024-01-01" } as const;
const cols = allocKlineColumns(1);
cols.openTime[0] = Date.UTC(2024, 0, 1);
cols.closeTime[0] = Date.UTC(2024, 0, 2) - 1;
const written = await store.write(key, [klineBatch(cols)], { source: "REST", complete: true });
const read = await store.read(key);
let invalid = "";
await store.read({ ...key, symbol: "../x" }).catch((err) => (invalid = err.name));
console.log(JSON.stringify({
  enabled: store.enabled,
  root: store.root ?? null,
  logs,
  written,
  read: read === undefined ? null : read.metadata.rows,
  list: (await store.list()).length,
  invalid,
}));
