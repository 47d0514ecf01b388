import assert from "node:assert/strict";
import { connect, deliveries, testBroker, type TestEffect, tokenOf } from "../_helpers/effects.ts";
import type { SharedSession } from "../../src/chat/effects.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";

// A node of a cluster: other nodes' sessions come in as remote upserts; this node's are shared out.

type Any = Record<string, unknown> & { type: string };
const presenceOf = (list: unknown[] | undefined) =>
  ((list ?? []) as Any[]).filter((m) => m.type === "presence").map((m) =>
    `${m.event} ${m.name} ${m.reason ?? ""}`.trim()
  );

function remote(name: string, rooms: string[], sid = 7, away = ""): SharedSession {
  return { sid, name, key: name.toLowerCase(), rooms, away, token: "", prevToken: "" };
}

function clusterBroker(overrides = {}) {
  return testBroker({ cluster: true, maxClients: 20, ...overrides });
}

Deno.test("Broker in a cluster claims the name before the welcome, and shares the session after it", () => {
  const claims: string[] = [];
  const b = clusterBroker({ claim: (e: { name: string }) => (claims.push(e.name), true) });
  const { session, effects } = connect(b, "alice", ["lobby"]);
  assert.deepEqual(claims, ["alice"]);
  assert.equal(session.state, "ready");
  const shared = effects.filter((e): e is TestEffect & { kind: "share" } => e.kind === "share");
  assert.equal(shared.length, 1);
  assert.deepEqual({ ...shared[0].state, token: "", prevToken: "" }, {
    sid: session.id,
    name: "alice",
    key: "alice",
    rooms: ["lobby"],
    away: "",
    token: "",
    prevToken: "",
  });
  assert.equal(shared[0].state.token, session.token, "the claim and the share carry the session's token");
});

Deno.test("Broker in a cluster refuses NAME_TAKEN when the cluster gives the name to someone else", () => {
  const b = clusterBroker({ claim: () => false });
  const { session, effects } = connect(b, "alice");
  const got = deliveries(effects).get(session)! as Any[];
  assert.deepEqual(got.map((m) => m.type === "error" ? m.code : m.type), [ErrorCode.NAME_TAKEN, "close"]);
  assert.equal(b.online, 0);
});

Deno.test("Broker tells its members of another node's user: joins, member lists, away, nick and leave", () => {
  const b = clusterBroker();
  const local = connect(b, "local", ["lobby", "dev"]).session;
  let d = deliveries(b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby"], 7, "lunch"), 1), 1));
  assert.deepEqual(presenceOf(d.get(local)), ["join bob", "away bob"]);
  const who = deliveries(b.handle(local, { type: "who", room: "lobby" }, 2)).get(local)! as Any[];
  assert.deepEqual((who[0].names as string[]).sort(), ["bob", "local"], "the member list is the cluster's");
  d = deliveries(
    b.settle(b.broker.remoteUpsert("n2", { ...remote("Bobby", ["dev"], 7), key: "bobby" }, 3), 3),
  );
  // Renamed, moved from lobby to dev, and back from lunch (an away event with no text).
  assert.deepEqual(presenceOf(d.get(local)), ["nick bob", "leave Bobby left", "join Bobby", "away Bobby"]);
  d = deliveries(b.settle(b.broker.remoteGone("n2", 7, "quit", "bye", 4), 4));
  assert.deepEqual(presenceOf(d.get(local)), ["leave Bobby quit"]);
});

Deno.test("Broker keeps names unique across nodes: another node's user holds the name here too", () => {
  const b = clusterBroker();
  b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby"]), 1), 1);
  const same = connect(b, "BOB");
  assert.equal((deliveries(same.effects).get(same.session)![0] as Any).code, ErrorCode.NAME_TAKEN);
  const lookalike = connect(b, "b\u043eb");
  assert.equal((deliveries(lookalike.effects).get(lookalike.session)![0] as Any).code, ErrorCode.NAME_TAKEN);
});

Deno.test("Broker holds a dead node's users for the grace period; one who comes back on another node makes no noise", () => {
  const b = clusterBroker({ graceMs: 1000 });
  const local = connect(b, "local").session;
  b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby"], 7), 1), 1);
  b.settle(b.broker.remoteUpsert("n2", remote("carol", ["lobby"], 8), 1), 1);
  let d = deliveries(b.settle(b.broker.remoteNodeDown("n2", 10), 10));
  assert.equal(d.get(local), undefined, "no leave yet");
  // bob resumes on node n3 within the grace period: his seat passes over silently.
  d = deliveries(b.settle(b.broker.remoteUpsert("n3", remote("bob", ["lobby"], 1), 500), 500));
  assert.equal(d.get(local), undefined, "no leave and no join for bob");
  d = deliveries(b.tick(1100));
  assert.deepEqual(presenceOf(d.get(local)), ["leave carol disconnected"], "carol did not come back");
  const who = deliveries(b.handle(local, { type: "who", room: "lobby" }, 1200)).get(local)! as Any[];
  assert.deepEqual((who[0].names as string[]).sort(), ["bob", "local"]);
});

Deno.test("Broker sends a direct message to another node's user through the cluster", () => {
  const b = clusterBroker();
  const alice = connect(b, "alice").session;
  b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby"]), 1), 1);
  const effects = b.handle(alice, { type: "private", id: 1, to: "bob", flags: 0, text: "psst" }, 2);
  const toBob = effects.find((e) => e.kind === "send" && e.to.remote === "n2");
  assert.ok(toBob && toBob.kind === "send" && toBob.msg.type === "direct" && toBob.msg.text === "psst");
});

Deno.test("Broker in a cluster says when its users leave, and says nothing of them at a shutdown", () => {
  const b = clusterBroker();
  const alice = connect(b, "alice").session;
  const left = b.handle(alice, { type: "bye", reason: "done" }, 1);
  assert.deepEqual(
    left.filter((e) => e.kind === "unshare").map((e) => e.kind === "unshare" && [e.name, e.reason, e.text]),
    [[
      "alice",
      "quit",
      "done",
    ]],
  );
  connect(b, "carol");
  assert.equal(
    b.shutdown(2).filter((e) => e.kind === "unshare").length,
    0,
    "the other nodes see the node go",
  );
});

Deno.test("Broker in a cluster lets a HELLO resume a session held on another node, the claim deciding", () => {
  const b = clusterBroker({ graceMs: 1000 });
  const local = connect(b, "local").session;
  b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby"]), 1), 1);
  const resumed = connect(b, "bob", ["lobby"], 2, { resumeToken: new Uint8Array(16).fill(9) });
  assert.equal(resumed.session.state, "ready");
  assert.equal(deliveries(resumed.effects).get(local), undefined, "bob's seat passes over without noise");
  const closed = resumed.effects.find((e) => e.kind === "close" && e.to.remote === "n2");
  assert.equal(closed, undefined, "the other node closes its session itself, when it sees this one's share");
  assert.ok(resumed.effects.some((e) => e.kind === "share"), "shared: the other node will see the takeover");
  assert.equal(resumed.session.prevToken, "09".repeat(16), "the token it had there still resumes it here");
});

Deno.test("Broker closes its own session, REPLACED, when its user resumed it on another node", () => {
  const b = clusterBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const bob = connect(b, "bob").session;
  tokenOf(connect(b, "x").effects, b.broker.session(3)!);
  const d = deliveries(b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby"]), 5), 5));
  assert.deepEqual((d.get(bob)! as Any[]).map((m) => m.type === "error" ? m.code : m.type), [
    ErrorCode.REPLACED,
    "close",
  ]);
  assert.equal(d.get(watcher), undefined, "no leave and no join");
});
