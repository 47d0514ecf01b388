import assert from "node:assert/strict";
import type { ClientEvent, MessageEvent } from "../../src/client/events.ts";
import { withIgnored, withJoins } from "../../src/client/prefs.ts";
import { MessageFlags } from "../../src/protocol/messages.ts";
import { type Line, Model, outboxWindow, peerId, roomId } from "../../src/web/model.ts";

const T = 1_767_225_600_000;

function msg(room: string, seq: number, from: string, text: string, history = false): MessageEvent {
  return { type: "message", room, seq, ts: T + seq, from, text, action: false, history };
}

function welcome(rooms: string[], name = "alice"): ClientEvent {
  return {
    type: "welcome",
    name,
    room: rooms[0],
    rooms,
    online: [name],
    server: "h:1",
    reconnected: false,
  };
}

/** A model signed in as alice in `rooms`, looking at the first. */
function model(rooms = ["lobby"]): Model {
  const m = new Model("alice");
  m.apply(welcome(rooms), true, T);
  return m;
}

const texts = (lines: readonly Line[]) => lines.map((l) => l.text);

Deno.test("Model keeps a room's messages in sequence order and shows each once", () => {
  const m = model();
  m.apply(msg("lobby", 2, "bob", "two"), true, T);
  m.apply(msg("lobby", 3, "bob", "three"), true, T);
  m.apply(msg("lobby", 1, "bob", "one", true), true, T); // an older page, fetched by scrolling up
  m.apply(msg("lobby", 2, "bob", "two"), true, T); // fetched again after a reconnect
  assert.deepEqual(texts(m.get("#lobby")!.lines), ["one", "two", "three"]);
});

Deno.test("Model shows our message as pending, then delivered in place once acknowledged; its copy is not added", () => {
  const m = model();
  m.queued({ id: 7, room: "lobby", flags: 0, text: "hi" }, T);
  const w = m.get("#lobby")!;
  assert.equal(w.lines[0].delivery, "pending");
  m.apply(msg("lobby", 1, "bob", "before mine"), true, T); // arrives while ours waits: goes above it
  assert.deepEqual(texts(w.lines), ["before mine", "hi"]);
  m.apply({ type: "ack", id: 7, room: "lobby", seq: 2, ts: T + 2 }, true, T);
  assert.equal(w.lines[1].delivery, "delivered");
  assert.equal(w.lines[1].seq, 2);
  m.apply(msg("lobby", 2, "alice", "hi"), true, T);
  assert.deepEqual(texts(w.lines), ["before mine", "hi"], "the server's copy is the line already shown");
});

Deno.test("Model drops the pending line when its message was fetched before the ACK (a resend after a reconnect)", () => {
  const m = model();
  m.queued({ id: 9, room: "lobby", flags: 0, text: "typed offline" }, T);
  m.apply(msg("lobby", 5, "alice", "typed offline", true), true, T);
  m.apply({ type: "ack", id: 9, room: "lobby", seq: 5, ts: T + 5 }, true, T);
  const w = m.get("#lobby")!;
  assert.deepEqual(texts(w.lines), ["typed offline"]);
  assert.equal(
    w.lines[0].id,
    9,
    "the shown copy now carries our id, so a reload does not show it pending again",
  );
  m.queued({ id: 9, room: "lobby", flags: 0, text: "typed offline" }, T);
  assert.equal(w.lines.length, 1);
});

Deno.test("Model marks a refused message with the server's reason", () => {
  const m = model();
  m.queued({ id: 3, room: "lobby", flags: 0, text: "x".repeat(10) }, T);
  m.apply({ type: "error", code: "TOO_LARGE", message: "text too long", fatal: false, ref: 3 }, true, T);
  const line = m.get("#lobby")!.lines[0];
  assert.equal(line.delivery, "refused");
  assert.match(line.error!, /TOO_LARGE/);
});

Deno.test("Model counts unread messages in other windows, and marks mentions and direct messages", () => {
  const m = model(["lobby", "dev"]);
  m.apply(msg("dev", 1, "bob", "old news", true), true, T); // the history that follows a join is not news
  assert.equal(m.get("#dev")!.unread, 0);
  m.apply(msg("dev", 2, "bob", "deploy at 11"), true, T);
  m.apply(msg("dev", 3, "bob", "alice: ready?"), true, T);
  const dev = m.get("#dev")!;
  assert.equal(dev.unread, 2);
  assert.equal(dev.highlight, true, "a mention marks the window");
  assert.equal(dev.lines.at(-1)!.mention, true);
  m.apply(msg("lobby", 1, "bob", "in the window looked at"), true, T);
  assert.equal(m.get("#lobby")!.unread, 0);
  m.apply({ type: "direct", from: "bob", to: "alice", ts: T, text: "psst", action: false }, true, T);
  const dm = m.get(peerId("bob"))!;
  assert.equal(dm.kind, "dm");
  assert.deepEqual([dm.unread, dm.highlight], [1, true], "a direct message is marked like a mention");
  m.switchTo("#dev");
  assert.deepEqual([dev.unread, dev.highlight], [0, false]);
});

Deno.test("Model asks for notifications only for mentions and direct messages while the page is hidden", () => {
  const m = model();
  assert.deepEqual(m.apply(msg("lobby", 1, "bob", "alice: look"), true, T), [], "looking: no notification");
  assert.deepEqual(m.apply(msg("lobby", 2, "bob", "nothing for you"), false, T), []);
  const [a] = m.apply(msg("lobby", 3, "bob", "alice, lunch?"), false, T);
  assert.deepEqual(a, { window: "#lobby", title: "bob in #lobby", body: "alice, lunch?" });
  assert.equal(m.get("#lobby")!.unread, 2, "a hidden page counts the current window too");
  const [d] = m.apply(
    { type: "direct", from: "bob", to: "alice", ts: T, text: "hi", action: false },
    false,
    T,
  );
  assert.equal(d.window, peerId("bob"));
  assert.deepEqual(m.apply(msg("lobby", 4, "alice", "alice talks about herself"), false, T), []);
});

Deno.test("Model matches the echo of a direct message we sent to its pending line", () => {
  const m = model();
  const p = { id: 11, room: "@Bob", flags: 0, text: "hello bob" };
  assert.equal(outboxWindow(p), peerId("bob"));
  m.queued(p, T);
  m.apply({ type: "direct", from: "alice", to: "Bob", ts: T + 1, text: "hello bob", action: false }, true, T);
  m.apply({ type: "ack", id: 11, room: "", seq: 0, ts: T + 1 }, true, T);
  const w = m.get(peerId("bob"))!;
  assert.deepEqual(w.lines.map((l) => [l.text, l.delivery]), [["hello bob", "delivered"]]);
});

Deno.test("Model shows a stored conversation's messages once each, by seq: its ACK numbers our own line", () => {
  const m = model();
  m.queued({ id: 12, room: "@bob", flags: 0, text: "stored hello" }, T);
  m.apply({ type: "ack", id: 12, room: "@bob", seq: 3, ts: T + 1 }, true, T);
  const dm = (from: string, text: string, seq: number, history = false): ClientEvent => ({
    type: "direct",
    from,
    to: from === "alice" ? "bob" : "alice",
    ts: T + seq,
    text,
    action: false,
    seq,
    history,
  });
  m.apply(dm("alice", "stored hello", 3), true, T);
  m.apply(dm("bob", "sent while you were away", 2, true), false, T);
  m.apply(dm("bob", "sent while you were away", 2, true), false, T);
  m.apply(dm("bob", "and now", 4), false, T);
  const w = m.get(peerId("bob"))!;
  assert.deepEqual(w.lines.map((l) => [l.seq, l.text]), [
    [2, "sent while you were away"],
    [3, "stored hello"],
    [4, "and now"],
  ]);
  assert.equal(w.unread, 2, "what came while away is news too");
});

Deno.test("Model shows joins and leaves unless hidden, and closes the window of a room we left", () => {
  const m = model(["lobby", "dev"]);
  const presence = (event: "join" | "leave", name: string, room: string, reason = ""): ClientEvent => ({
    type: "presence",
    room,
    event,
    name,
    reason,
    text: "",
    ts: T,
  });
  m.apply(presence("join", "bob", "lobby"), true, T);
  m.apply(presence("leave", "bob", "lobby", "quit"), true, T);
  assert.deepEqual(texts(m.get("#lobby")!.lines), ["bob joined #lobby", "bob left #lobby (quit)"]);
  m.prefs = withJoins(m.prefs, true, "lobby");
  m.apply(presence("join", "carol", "lobby"), true, T);
  assert.equal(m.get("#lobby")!.lines.length, 2, "hidden by /joins hide");
  m.switchTo("#dev");
  m.apply(presence("leave", "alice", "dev", "left"), true, T);
  assert.equal(m.get("#dev"), undefined);
  assert.equal(m.current, "#lobby", "the window before it is shown");
});

Deno.test("Model leaves out the messages of someone ignored", () => {
  const m = model();
  m.prefs = withIgnored(m.prefs, "Mallory", true);
  m.apply(msg("lobby", 1, "mallory", "spam"), true, T);
  m.apply({ type: "direct", from: "MALLORY", to: "alice", ts: T, text: "spam", action: false }, true, T);
  assert.equal(m.get("#lobby")!.lines.length, 0);
  assert.equal(m.get(peerId("mallory")), undefined);
});

Deno.test("Model keeps away messages by name and says when they change", () => {
  const m = model();
  const away = (text: string, ts: number): ClientEvent => ({
    type: "presence",
    room: "lobby",
    event: "away",
    name: "Bob",
    reason: "",
    text,
    ts,
  });
  m.apply(away("lunch", 0), true, T); // the status a member list comes with: no line
  assert.equal(m.away.get("bob"), "lunch");
  assert.equal(m.get("#lobby")!.lines.length, 0);
  m.apply(away("", T), true, T);
  assert.equal(m.away.has("bob"), false);
  assert.deepEqual(texts(m.get("#lobby")!.lines), ["Bob is back"]);
});

Deno.test("Model switches to a room once its /join is answered, and drops a refused one", () => {
  const m = model();
  m.joining.push("dev", "ops");
  m.apply({ type: "error", code: "TOO_MANY_ROOMS", message: "too many", fatal: false }, true, T);
  assert.deepEqual(m.joining, ["ops"], "a refusal answers the oldest join");
  m.apply({ type: "members", room: "ops", online: ["alice"] }, true, T);
  assert.equal(m.current, roomId("ops"));
  assert.deepEqual(m.joining, []);
});

Deno.test("Model.snapshot() keeps delivered chat lines; restore() puts them back without duplicates", () => {
  const m = model();
  m.apply(msg("lobby", 1, "bob", "one"), true, T);
  m.apply({ type: "notice", kind: "motd", text: "be kind" }, true, T);
  m.queued({ id: 5, room: "lobby", flags: MessageFlags.ACTION, text: "waves" }, T);
  const saved = m.snapshot(200);
  assert.deepEqual(saved.map((w) => [w.id, texts(w.lines)]), [["#lobby", ["one"]]]);
  const again = new Model("alice");
  again.restore(JSON.parse(JSON.stringify(saved)));
  again.apply(welcome(["lobby"]), true, T);
  again.apply(msg("lobby", 1, "bob", "one", true), true, T);
  again.apply(msg("lobby", 2, "bob", "two", true), true, T);
  assert.deepEqual(texts(again.get("#lobby")!.lines), ["one", "two"]);
  assert.equal(again.get("#lobby")!.unread, 0, "looked at");
  assert.equal(again.oldestSeq("lobby"), 1);
});

Deno.test("Model.storeReset() forgets the room messages, whose numbers a reset server reuses", () => {
  const m = model();
  m.apply(msg("lobby", 1, "bob", "from the old store"), true, T);
  m.storeReset(T);
  m.apply(msg("lobby", 1, "bob", "from the new store"), true, T);
  assert.deepEqual(texts(m.get("#lobby")!.lines.filter((l) => l.kind === "chat")), ["from the new store"]);
});

Deno.test("Model keeps a room's topic, says it when it is news or asked for, and not again on a rejoin", () => {
  const m = model();
  const w = m.get("#lobby")!;
  const topic = (text: string, by = "bob"): ClientEvent => ({
    type: "topic",
    room: "lobby",
    text,
    by,
    ts: T,
  });
  m.apply(topic(""), true, T);
  assert.deepEqual(texts(w.lines), [], "no topic on a first join: nothing to say");
  m.apply(topic("be kind"), true, T);
  m.apply(topic("be kind"), true, T);
  m.apply(topic("be kind"), true, T);
  m.apply(topic("be kinder", "carol"), true, T);
  m.apply(topic("", "carol"), true, T);
  assert.deepEqual(texts(w.lines), [
    "bob set the topic of #lobby: be kind",
    "carol set the topic of #lobby: be kinder",
    "the topic of #lobby was cleared by carol",
  ]);
  assert.equal(w.topic, "");
  m.topicAsked.add("lobby");
  m.apply(topic(""), true, T);
  assert.equal(texts(w.lines).at(-1), "#lobby has no topic");
});

Deno.test("Model gathers /list's parts into one notice, biggest rooms first; a /who listing opens no window", () => {
  const m = model();
  const r = (room: string, members: number, topic = "") => ({ room, members, quiet: false, topic });
  m.apply({ type: "rooms", rooms: [r("dev", 2, "ship it")], more: true }, true, T);
  assert.deepEqual(texts(m.get("#lobby")!.lines), []);
  m.apply({ type: "rooms", rooms: [r("lobby", 5)], more: false }, true, T);
  assert.deepEqual(texts(m.get("#lobby")!.lines), ["2 room(s), by size:\n  #lobby (5)\n  #dev (2): ship it"]);
  m.apply({ type: "members", room: "ops", online: ["bob"], listing: true }, true, T);
  m.apply({ type: "members", room: "hall", online: [], members: 900, quiet: true, listing: true }, true, T);
  assert.deepEqual(m.windows.map((w) => w.id), ["#lobby"]);
  assert.equal(
    texts(m.get("#lobby")!.lines).at(-1),
    "#hall has 900 members (a quiet room: names for members only)",
  );
});

Deno.test("Model says in the @NAME window that someone is away each time a direct message is answered so", () => {
  const m = model();
  const away = (room: string, ts: number): ClientEvent => ({
    type: "presence",
    room,
    event: "away",
    name: "bob",
    reason: "",
    text: "in a meeting",
    ts,
  });
  m.apply(away("lobby", T), true, T); // seen in a shared room: the page knows it already
  m.open(peerId("bob"), "bob");
  m.apply(away("", T + 1), true, T); // the server's answer to a direct message to bob
  m.apply(away("", T + 2), true, T); // and to the next one
  assert.deepEqual(texts(m.get(peerId("bob"))!.lines), [
    "bob is away: in a meeting",
    "bob is away: in a meeting",
  ]);
  assert.deepEqual(texts(m.get("#lobby")!.lines), ["bob is away: in a meeting"], "said once in the room");
});

Deno.test("Model gives a stored conversation's oldest seq; a page of older ones asked for is not news", () => {
  const m = model();
  const dm = (seq: number, history: boolean): ClientEvent => ({
    type: "direct",
    from: "bob",
    to: "alice",
    ts: T + seq,
    text: `dm ${seq}`,
    action: false,
    seq,
    history,
  });
  m.apply(dm(60, true), false, T); // missed while away: news
  m.apply(dm(61, false), false, T);
  const w = m.get(peerId("bob"))!;
  assert.equal(m.oldestSeq("@bob"), 60);
  assert.equal(w.unread, 2);
  m.olderAsked(w.id, 60);
  const alerts = [...m.apply(dm(10, true), false, T), ...m.apply(dm(11, true), false, T)];
  assert.deepEqual(texts(w.lines), ["dm 10", "dm 11", "dm 60", "dm 61"]);
  assert.equal(m.oldestSeq("@Bob"), 10);
  assert.equal(w.unread, 2, "what scrolling up fetched is not counted");
  assert.deepEqual(alerts, [], "nor notified");
  m.apply(dm(62, false), false, T);
  assert.equal(w.unread, 3, "a new one is");
  assert.equal(m.oldestSeq("lobby"), undefined);
  m.apply(msg("lobby", 7, "bob", "in the room"), true, T);
  assert.equal(m.oldestSeq("lobby"), 7);
});
