/**
 * `toPolars`: an Arrow kline Table as a nodejs-polars DataFrame. A separate
 * entry point, so that only those who ask load the native Polars addon.
 *
 * Importing this module loads that addon, which needs, beside the flags of
 * the rest of the program:
 *
 * ```sh
 * --allow-sys=cpus,networkInterfaces,hostname --allow-read=<npm cache> --allow-ffi=<npm cache>
 * ```
 *
 * `<npm cache>` is the folder holding the addon: Deno's npm cache (`deno info`
 * prints it as "npm modules cache", `$DENO_DIR/npm`; `~/.cache/deno/npm` on
 * Linux), or `node_modules` with `"nodeModulesDir"` set. The `--allow-sys`
 * names are what nodejs-polars' loader reads through
 * `process.report.getReport()` to tell glibc from musl on Linux; without
 * them the import fails with `NotCapable: Requires sys access`.
 *
 * @module
 */
import { type Table, tableToIPC } from "apache-arrow";
import pl from "nodejs-polars";
import type { DataFrame } from "nodejs-polars";
import { Buffer } from "node:buffer";

/** A nodejs-polars `DataFrame`. */
export type PolarsDataFrame = DataFrame;

/**
 * Converts an Arrow Table into a Polars DataFrame through Arrow IPC (the
 * column buffers are copied once; values are unchanged).
 *
 * Permissions: those of the module (see above),
 * `--allow-sys=cpus,networkInterfaces,hostname --allow-read=<npm cache>
 * --allow-ffi=<npm cache>`.
 *
 * @param table An Arrow Table, e.g. from `DataSourceManager.getData`.
 * @returns The DataFrame, `_data_source` as a categorical column.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 * import { toPolars } from "./polars.ts";
 * const df = toPolars(tableFromArrays({ close: new Float64Array([1.5, 2.5]) }));
 * assert.equal(df.height, 2);
 * assert.deepEqual(df.getColumn("close").toArray(), [1.5, 2.5]);
 * ```
 */
export function toPolars(table: Table): PolarsDataFrame {
  // deno-lint-ignore no-explicit-any
  return pl.readIPC(Buffer.from(tableToIPC(table, "file")) as any);
}
