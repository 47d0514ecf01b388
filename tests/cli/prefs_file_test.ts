import assert from "node:assert/strict";
import { DEFAULT_PREFS, withIgnored, withJoins } from "../../src/client/prefs.ts";
import { prefsPath, prefsStore } from "../../src/cli/prefs_file.ts";

Deno.test("prefsPath() keeps one file per server and name in the XDG state dir", () => {
  assert.equal(
    prefsPath({ XDG_STATE_HOME: "/s" }, [{ host: "127.0.0.1", port: 3000 }], "Alice"),
    "/s/chat/prefs/127.0.0.1_3000/alice.json",
  );
  assert.equal(prefsPath({}, [{ host: "h", port: 1 }], "a"), undefined);
});

Deno.test("prefsStore() saves privately and atomically, and a new store reads it back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-prefs-" });
  try {
    const path = `${dir}/prefs/h_1/alice.json`;
    assert.deepEqual(prefsStore(path).load(), { prefs: DEFAULT_PREFS }, "no file yet: the defaults");
    const p = withJoins(withIgnored(DEFAULT_PREFS, "mallory", true), true, "lobby");
    prefsStore(path).save(p);
    assert.deepEqual(prefsStore(path).load(), { prefs: p });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/prefs/h_1`)].map((e) => e.name),
      ["alice.json"],
      "no temp file",
    );
    await Deno.writeTextFile(path, "{ not json");
    const bad = prefsStore(path).load();
    assert.deepEqual(bad.prefs, DEFAULT_PREFS);
    assert.match(bad.warning ?? "", /^ignoring .*alice\.json: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prefsStore() without a state dir keeps the preferences in memory", () => {
  const store = prefsStore(undefined);
  const p = withIgnored(DEFAULT_PREFS, "eve", true);
  store.save(p);
  assert.deepEqual(store.load().prefs, p);
});
