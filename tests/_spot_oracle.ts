/**
 * The oracle of the CLI and edge tests: the BTCUSDT 1h spot klines of
 * 2024-01-01 to 2024-01-04 as `getData` returns them from an emulator, and
 * a table's rows as plain values to compare outputs with.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import { DataSourceManager } from "../src/fcp/data_source_manager.ts";

/** The request the oracle makes; its end is exclusive. */
export const ORACLE_RANGE = {
  symbol: "BTCUSDT",
  interval: "1h",
  start: "2024-01-01",
  end: "2024-01-04",
} as const;

/**
 * Fetches {@linkcode ORACLE_RANGE} from an emulator, without a cache.
 *
 * @param url The emulator's URL (Vision, listing and REST).
 * @param now The clock of the manager.
 * @param includeSourceInfo Add the `_data_source` column.
 * @returns The table `getData` returns.
 */
export async function oracleTable(
  url: string,
  now: number,
  includeSourceInfo = true,
): Promise<Table> {
  await using dsm = new DataSourceManager({
    cache: false,
    now: () => now,
    endpoints: { vision: url, listing: url, rest: url },
  });
  return await dsm.getData({ ...ORACLE_RANGE, includeSourceInfo });
}

/**
 * A table's rows as plain values (bigint counts as numbers), for deep comparison.
 *
 * @param table The table.
 * @returns One array of values per row, in schema order.
 */
export function plainRows(table: Table): unknown[][] {
  const columns = table.schema.fields.map((f) =>
    [...table.getChild(f.name)!].map((x) => typeof x === "bigint" ? Number(x) : x)
  );
  return Array.from({ length: table.numRows }, (_, r) => columns.map((c) => c[r]));
}
