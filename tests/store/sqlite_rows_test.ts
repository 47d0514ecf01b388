// src/store/sqlite_rows.ts: one statement for many rows, in chunks.

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { chunkRows, MAX_ROWS, RowStatement } from "../../src/store/sqlite_rows.ts";

Deno.test("chunkRows() covers any number of rows with chunks of MAX_ROWS, then powers of two", () => {
  const sizes = new Set<number>();
  for (let rows = 1; rows <= 3 * MAX_ROWS + 7; rows++) {
    let left = rows;
    while (left > 0) {
      const n = chunkRows(left);
      assert.ok(n >= 1 && n <= left && n <= MAX_ROWS, `${n} of ${left}`);
      assert.equal(n & (n - 1), 0, `${n} is a power of two`);
      sizes.add(n);
      left -= n;
    }
  }
  assert.deepEqual([...sizes].sort((a, b) => a - b), [1, 2, 4, 8, 16, 32, 64]);
});

Deno.test("RowStatement inserts and looks up every row of a batch, whatever its size", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t (k TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (k, n)) WITHOUT ROWID");
  const insert = new RowStatement(db, 2, (rows) => `INSERT INTO t (k, n) VALUES ${rows}`);
  const find = new RowStatement(db, 2, (rows) => `SELECT k, n FROM t WHERE (k, n) IN (VALUES ${rows})`);
  const values = Array.from({ length: 150 }, (_, i) => [i % 2 ? "a" : "b", i]).flat();
  insert.run(values);
  assert.equal((db.prepare("SELECT count(*) AS c FROM t").get() as { c: number }).c, 150);
  const asked = [...values, "c", 1];
  const found = find.all(asked).map((r) => `${r.k}${r.n}`).sort();
  assert.deepEqual(found, Array.from({ length: 150 }, (_, i) => `${i % 2 ? "a" : "b"}${i}`).sort());
  assert.throws(() => insert.run(["x"]), /1 values are not rows of 2/);
  db.close();
});
