/**
 * One SQL statement for many rows: `INSERT ... VALUES (...), (...), ...`
 * or a look-up `IN (VALUES ...)`, prepared once per number of rows and
 * reused. A batch goes in chunks of at most {@linkcode MAX_ROWS} rows,
 * the rest in powers of two, so at most seven statements are ever prepared
 * for one shape.
 *
 * Why: node:sqlite costs about as much per statement call (binding, the
 * step, the result object) as SQLite's own work for a small row. Storing a
 * synced batch of 64 messages row by row took 5.9 us of CPU per message
 * without the fsync; with one statement per table, 3.3 us (BENCHMARKS.md,
 * change 19).
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

/** Rows one statement takes at most: 64 rows of 6 values stay far below SQLite's limit of bound values. */
export const MAX_ROWS = 64;

/** The rows of the next chunk when `left` rows remain: MAX_ROWS, else the largest power of two in `left`. */
export function chunkRows(left: number): number {
  return left >= MAX_ROWS ? MAX_ROWS : 1 << (31 - Math.clz32(left));
}

export class RowStatement {
  readonly fields: number;
  #db: DatabaseSync;
  #sql: (tuples: string) => string;
  #tuple: string;
  #prepared = new Map<number, StatementSync>();

  /**
   * `sql` makes the statement from its tuples, e.g. `(?, ?), (?, ?)`; each
   * row binds `fields` values.
   */
  constructor(db: DatabaseSync, fields: number, sql: (tuples: string) => string) {
    this.#db = db;
    this.fields = fields;
    this.#sql = sql;
    this.#tuple = `(${Array(fields).fill("?").join(", ")})`;
  }

  /** Runs the statement over `values`, `fields` of them a row, in chunks. */
  run(values: readonly SQLInputValue[]): void {
    this.#each(values, (statement, part) => statement.run(...part));
  }

  /** The rows the statement returns over `values`, chunk after chunk. */
  all(values: readonly SQLInputValue[]): Array<Record<string, SQLInputValue>> {
    const rows: Array<Record<string, SQLInputValue>> = [];
    this.#each(values, (statement, part) => {
      for (const row of statement.all(...part)) rows.push(row as Record<string, SQLInputValue>);
    });
    return rows;
  }

  #each(
    values: readonly SQLInputValue[],
    use: (statement: StatementSync, part: SQLInputValue[]) => void,
  ): void {
    if (values.length % this.fields !== 0) {
      throw new TypeError(`${values.length} values are not rows of ${this.fields}`);
    }
    const rows = values.length / this.fields;
    for (let at = 0; at < rows;) {
      const n = chunkRows(rows - at);
      use(this.#statement(n), values.slice(at * this.fields, (at + n) * this.fields));
      at += n;
    }
  }

  #statement(rows: number): StatementSync {
    let statement = this.#prepared.get(rows);
    if (!statement) {
      statement = this.#db.prepare(this.#sql(Array(rows).fill(this.#tuple).join(", ")));
      this.#prepared.set(rows, statement);
    }
    return statement;
  }
}
