/**
 * CSV and NDJSON text of kline RecordBatches: timestamps as epoch ms, floats
 * as `String(number)` (which parses back to the identical value), counts as
 * integers, `_data_source` as text.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";

type Cell = (row: number) => string;

function cellsOf(batch: RecordBatch): Cell[] {
  return batch.schema.fields.map((field, index) => {
    const vector = batch.getChildAt(index)!;
    const typeId = String(field.type);
    if (vector.nullCount > 0) {
      return (row: number) => {
        const value = vector.get(row);
        return value === null ? "" : String(value);
      };
    }
    if (typeId === "Bool") {
      // Values are a bitmap: read through the vector.
      return (row: number) => String(vector.get(row));
    }
    if (typeId.startsWith("Dictionary")) {
      const text = (vector.data[0]?.dictionary?.toArray() ?? []) as string[];
      const chunks = vector.data.map((d) => d.values as ArrayLike<number>);
      if (chunks.length === 1) {
        const codes = chunks[0];
        return (row: number) => text[codes[row]];
      }
      return (row: number) => String(vector.get(row));
    }
    const values = vector.data.length === 1 ? vector.data[0].values : vector.toArray();
    return (row: number) => String(values[row]);
  });
}

/**
 * The CSV header row of a schema, with its newline.
 *
 * @param schema The schema.
 * @returns `open_time,open,...\n`.
 */
export function csvHeader(schema: Schema): string {
  return schema.fields.map((f) => f.name).join(",") + "\n";
}

/**
 * The CSV rows of a batch, each ending with a newline.
 *
 * @param batch The batch.
 * @returns The text.
 */
export function csvRows(batch: RecordBatch): string {
  const cells = cellsOf(batch);
  const lines: string[] = new Array(batch.numRows);
  for (let row = 0; row < batch.numRows; row++) {
    let line = cells[0](row);
    for (let c = 1; c < cells.length; c++) line += "," + cells[c](row);
    lines[row] = line;
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

/**
 * The NDJSON rows of a batch: one object per row, each line ending with a
 * newline; `_data_source` and null values as JSON strings and `null`.
 *
 * @param batch The batch.
 * @returns The text.
 */
export function ndjsonRows(batch: RecordBatch): string {
  const cells = cellsOf(batch);
  const keys = batch.schema.fields.map((f, i) =>
    (i === 0 ? "{" : ",") + JSON.stringify(f.name) + ":"
  );
  const quoted = batch.schema.fields.map((f) => String(f.type).startsWith("Dictionary"));
  const lines: string[] = new Array(batch.numRows);
  for (let row = 0; row < batch.numRows; row++) {
    let line = "";
    for (let c = 0; c < cells.length; c++) {
      const text = cells[c](row);
      line += keys[c] + (text === "" ? "null" : quoted[c] ? JSON.stringify(text) : text);
    }
    lines[row] = line + "}";
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}
