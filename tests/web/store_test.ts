import assert from "node:assert/strict";
import { withIgnored } from "../../src/client/prefs.ts";
import type { Line } from "../../src/web/model.ts";
import { BrowserStore, KEPT_LINES, type KeyValue, PREFIX, type SavedView } from "../../src/web/store.ts";

/** A localStorage stand-in that counts writes and can be made to fill up past `quota` characters. */
class Memory implements KeyValue {
  readonly map = new Map<string, string>();
  writes: string[] = [];
  quota = Infinity;
  getItem(k: string): string | null {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    const used = [...this.map].reduce((n, [key, val]) => n + (key === k ? 0 : key.length + val.length), 0);
    if (used + k.length + v.length > this.quota) throw new DOMException("full", "QuotaExceededError");
    this.map.set(k, v);
    this.writes.push(k);
  }
  removeItem(k: string): void {
    this.map.delete(k);
  }
}

const line = (seq: number, text = `m${seq}`): Line => ({
  key: `s${seq}`,
  rev: 0,
  kind: "chat",
  ts: seq,
  text,
  seq,
});

function view(n: number, text?: string): SavedView {
  return {
    rooms: ["lobby"],
    current: "#lobby",
    windows: [{
      id: "#lobby",
      target: "lobby",
      lines: Array.from({ length: n }, (_, i) => line(i + 1, text)),
    }],
  };
}

Deno.test("BrowserStore writes a message to send at once, and the rest only when flushed", () => {
  const kv = new Memory();
  const store = new BrowserStore(kv, "Alice");
  store.watch(() => view(1));
  store.record({ op: "send", p: { id: 1, room: "lobby", flags: 0, text: "hi" } });
  assert.equal(kv.writes.length, 1, "the outbox is kept before the frame goes out");
  store.record({ op: "seq", room: "lobby", seq: 4 });
  store.record({ op: "ack", id: 1 });
  assert.equal(kv.writes.length, 1);
  assert.ok(store.dirty);
  store.flush();
  const again = new BrowserStore(kv, "alice");
  assert.deepEqual(again.journal.outbox, []);
  assert.deepEqual(again.journal.lastSeq, { lobby: 4 });
  assert.deepEqual(
    again.view()?.windows[0].lines.map((l) => l.seq),
    [1],
    "journal and lines are written together",
  );
});

Deno.test("BrowserStore keeps each name apart, and the name signed in with", () => {
  const kv = new Memory();
  new BrowserStore(kv, "alice").record({ op: "send", p: { id: 1, room: "lobby", flags: 0, text: "a" } });
  assert.deepEqual(new BrowserStore(kv, "bob").journal.outbox, []);
  assert.equal(BrowserStore.identity(kv), null);
  BrowserStore.setIdentity(kv, "Alice");
  assert.equal(BrowserStore.identity(kv), "Alice");
  BrowserStore.setIdentity(kv, null);
  assert.equal(BrowserStore.identity(kv), null);
});

Deno.test("BrowserStore keeps fewer lines when storage is full, and always the outbox", () => {
  const kv = new Memory();
  const store = new BrowserStore(kv, "alice");
  store.watch(() => view(KEPT_LINES + 50, "x".repeat(200)));
  kv.quota = 20_000;
  store.flush();
  const kept = store.view()!.windows[0].lines;
  assert.ok(kept.length > 0 && kept.length < KEPT_LINES, `kept ${kept.length} lines`);
  assert.equal(kept.at(-1)!.seq, KEPT_LINES + 50, "the newest are kept");
  kv.quota = [...kv.map].reduce((n, [k, v]) => n + k.length + v.length, 0) + 10;
  store.record({ op: "send", p: { id: 2, room: "lobby", flags: 0, text: "y".repeat(100) } });
  assert.equal(new BrowserStore(kv, "alice").journal.outbox.length, 1, "the lines made room for the outbox");
});

Deno.test("BrowserStore ignores what it cannot read (a foreign or hand-edited value) instead of failing", () => {
  const kv = new Memory();
  const base = `${PREFIX}alice.`;
  kv.map.set(
    base + "journal",
    '{"token":5,"lastSeq":{"lobby":"x","dev":3},"outbox":[{"id":1},{"id":2,"room":"a","flags":0,"text":"ok"}]}',
  );
  kv.map.set(base + "view", "not json");
  kv.map.set(base + "prefs", "[]");
  const store = new BrowserStore(kv, "alice");
  assert.deepEqual(store.journal, {
    token: null,
    storeId: null,
    lastSeq: { dev: 3 },
    outbox: [{ id: 2, room: "a", flags: 0, text: "ok" }],
  });
  assert.equal(store.view(), null);
  assert.deepEqual(store.prefs().ignored, []);
});

Deno.test("BrowserStore keeps preferences, and clear() forgets everything of the name", () => {
  const kv = new Memory();
  const store = new BrowserStore(kv, "alice");
  store.savePrefs(withIgnored(store.prefs(), "mallory", true));
  assert.deepEqual(new BrowserStore(kv, "alice").prefs().ignored, ["mallory"]);
  store.watch(() => view(3));
  store.flush();
  store.clear();
  assert.deepEqual([...kv.map.keys()], []);
});

Deno.test("BrowserStore.rename() moves what is kept to the new name, and the page signs in as it", () => {
  const kv = new Memory();
  BrowserStore.setIdentity(kv, "alice");
  const store = new BrowserStore(kv, "alice");
  store.savePrefs(withIgnored(store.prefs(), "mallory", true));
  store.record({ op: "token", token: "ab12", storeId: null });
  store.record({ op: "send", p: { id: 1, room: "lobby", flags: 0, text: "not yet sent" } });
  store.watch(() => view(3));
  store.flush();
  store.rename("Alyx");
  assert.equal(BrowserStore.identity(kv), "Alyx");
  assert.equal(new BrowserStore(kv, "alice").view(), null, "nothing left under the old name");
  assert.deepEqual(new BrowserStore(kv, "alice").journal.outbox, []);
  const again = new BrowserStore(kv, "alyx");
  assert.equal(again.journal.token, "ab12", "the resume token goes with the name");
  assert.deepEqual(again.journal.outbox.map((p) => p.text), ["not yet sent"]);
  assert.equal(again.view()?.windows[0].lines.length, 3);
  assert.deepEqual(again.prefs().ignored, ["mallory"]);
  store.record({ op: "seq", room: "lobby", seq: 9 });
  store.flush();
  assert.deepEqual(
    new BrowserStore(kv, "alyx").journal.lastSeq,
    { lobby: 9 },
    "later writes go to the new name",
  );
  assert.equal(kv.getItem(`${PREFIX}alice.journal`), null);
});
