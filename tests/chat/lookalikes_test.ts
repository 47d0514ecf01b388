import assert from "node:assert/strict";
import { ACCOUNTS_REFRESH_MS, StoredLookalikes } from "../../src/chat/lookalikes.ts";
import { MemoryStore } from "../../src/store/memory.ts";

Deno.test("StoredLookalikes reads the accounts once per refresh interval, or after changed()", () => {
  const store = new MemoryStore();
  let reads = 0;
  const counting = {
    account: (key: string) => store.account(key),
    accounts: () => (reads++, store.accounts()),
  };
  const index = new StoredLookalikes(counting);
  store.putAccount({ name: "carol", key: "carol", hash: "x", admin: false, created: 0 });
  assert.equal(index.registered("\u0441arol", "\u0441arol", 0), "carol");
  assert.equal(index.registered("\u0441arol", "\u0441arol", 10), "carol");
  assert.equal(reads, 1, "one read within the interval");
  assert.equal(
    index.registered("carol", "carol", 20),
    undefined,
    "a registered name is not its own look-alike",
  );
  index.changed();
  index.registered("x", "x", 30);
  assert.equal(reads, 2, "changed() forces a read");
  index.registered("x", "x", 30 + ACCOUNTS_REFRESH_MS);
  assert.equal(reads, 3, "so does the end of the interval");
});

Deno.test("StoredLookalikes.banned() matches name bans by skeleton, not address bans", () => {
  const index = new StoredLookalikes(new MemoryStore());
  const bans = [
    { target: "addr:10.0.0.1", until: 0, reason: "", by: "op", created: 0 },
    { target: "name:mallory", until: 0, reason: "spam", by: "op", created: 0 },
  ];
  assert.equal(index.banned("m\u0430llory", bans)?.target, "name:mallory");
  assert.equal(index.banned("MALLORY", bans)?.target, "name:mallory");
  assert.equal(index.banned("10.0.0.1", bans), undefined);
  assert.equal(index.banned("mallary", bans), undefined);
});
