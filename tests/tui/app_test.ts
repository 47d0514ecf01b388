import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";
import { FakeTerminal } from "../_helpers/tui.ts";
import { FileJournal, MemoryJournal, replay } from "../../src/client/journal.ts";
import { prefsStore } from "../../src/cli/prefs_file.ts";
import { guarded, runTui, type TuiOptions } from "../../src/tui/app.ts";
import { historyFileName, parseHistory } from "../../src/tui/history.ts";

function io(stderr: string[] = []) {
  return { stderr: (l: string) => void stderr.push(l), stopSignal: () => new Promise<string>(() => {}) };
}

Deno.test("runTui() sends what is typed, keeps the input history per server, and restores the terminal on /quit", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "chat-tui-app-" });
  try {
    const historyPath = `${dir}/${historyFileName(`127.0.0.1:${server.port}`)}`;
    const options: TuiOptions = {
      servers: [{ host: "127.0.0.1", port: server.port }],
      name: "alice",
      rooms: ["lobby"],
      timeoutMs: 5000,
      reconnectAttempts: 3,
      colour: false,
      historyPath,
    };
    const term = new FakeTerminal();
    const running = runTui(options, io(), term);
    await term.waitRow(/^ connected \| 1:#lobby \(1 online\)/);
    term.type("hello from the app test\r");
    await term.waitRow(/<alice> hello from the app test$/);
    term.type("/quit bye\r");
    assert.equal(await running, 0);
    assert.deepEqual([term.entered, term.restored], [1, 1]);
    assert.deepEqual(parseHistory(await Deno.readTextFile(historyPath)), [
      "hello from the app test",
      "/quit bye",
    ]);
    assert.equal((await Deno.stat(historyPath)).mode! & 0o777, 0o600, "history is private");

    // The next session starts with that history: Up brings back the last line.
    const again = new FakeTerminal();
    const second = runTui(options, io(), again);
    await again.waitRow(/^ connected/);
    again.type("\x1b[A\x1b[A");
    await again.waitRow(/^\[#lobby\] hello from the app test$/);
    again.type("\x03");
    assert.equal(await second, 130, "Ctrl-C");
    assert.deepEqual([again.entered, again.restored], [1, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runTui() asks for a name until one is valid, and again when the server says it is taken", async () => {
  await using server = await startServer();
  const options: TuiOptions = {
    servers: [{ host: "127.0.0.1", port: server.port }],
    rooms: ["lobby"],
    timeoutMs: 5000,
    reconnectAttempts: 3,
    colour: false,
  };
  const first = new FakeTerminal();
  first.answers = ["carol"];
  const running = runTui(options, io(), first);
  await first.waitRow(/^ connected/);

  const stderr: string[] = [];
  const term = new FakeTerminal();
  term.answers = ["not valid!", "Carol", "dave"];
  const second = runTui(options, io(stderr), term);
  await term.waitRow(/-- connected to 127\.0\.0\.1:\d+ as dave/);
  assert.match(stderr[0], /invalid name: name may hold only letters/);
  assert.match(stderr[1], /NAME_TAKEN/);
  term.type("\x04");
  first.type("\x04");
  assert.deepEqual(await Promise.all([second, running]), [0, 0], "Ctrl-D on an empty line quits");
});

Deno.test("runTui() fails with the client's error, before taking over the screen, when it cannot connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const stderr: string[] = [];
  const term = new FakeTerminal();
  const code = await runTui(
    {
      servers: [{ host: "127.0.0.1", port }],
      name: "alice",
      rooms: ["lobby"],
      timeoutMs: 1000,
      reconnectAttempts: 1,
      colour: false,
    },
    io(stderr),
    term,
  );
  assert.equal(code, 1);
  assert.match(stderr.join("\n"), /CONNECTION_REFUSED/);
  assert.equal(term.entered, 0);
});

/** Options for alice on `port`, in memory unless the test adds storage. */
function aliceOn(port: number, extra: Partial<TuiOptions> = {}): TuiOptions {
  return {
    servers: [{ host: "127.0.0.1", port }],
    name: "alice",
    rooms: ["lobby"],
    timeoutMs: 5000,
    reconnectAttempts: 3,
    colour: false,
    ...extra,
  };
}

Deno.test("guarded() passes events on, and turns an exception into a fault that names the event", () => {
  const seen: string[] = [];
  const faults: Error[] = [];
  const emit = guarded((e: { type: string }) => {
    if (e.type === "bad") throw new TypeError("boom");
    seen.push(e.type);
  }, (err) => faults.push(err));
  emit({ type: "good" });
  emit({ type: "bad" });
  assert.deepEqual(seen, ["good"]);
  assert.equal(faults.length, 1);
  assert.equal(faults[0].message, 'while handling a "bad" event: boom');
  assert.ok(faults[0].cause instanceof TypeError);
});

Deno.test("runTui() shows the journal's unsent messages as pending, delivers them once, and closes the storage", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using bob = await joinJson(server.port, "bob");
  const dir = await Deno.makeTempDir({ prefix: "chat-tui-journal-" });
  try {
    const path = `${dir}/journal.jsonl`;
    // What a client killed before it could send leaves behind.
    const before = new FileJournal(path);
    before.send({ id: Date.now() * 1000, room: "lobby", flags: 0, text: "typed before the crash" });
    before.close();
    let closed = 0;
    const recorded: string[] = [];
    const term = new FakeTerminal(70, 10);
    const running = runTui(
      aliceOn(server.port, {
        storage: () => {
          const journal = new FileJournal(path);
          return {
            journal,
            onMessage: (m) => void recorded.push(m.text),
            close: () => {
              closed++;
              journal.close();
            },
          };
        },
      }),
      io(),
      term,
    );
    await bob.next("message", (m) => m.from === "alice" && m.text === "typed before the crash");
    await term.waitRow(/<alice> typed before the crash$/);
    assert.match(term.screen.text().join("\n"), /1 message\(s\) from the last session not yet delivered/);
    term.type("/quit\r");
    assert.equal(await running, 0);
    assert.equal(closed, 1);
    assert.deepEqual(replay(await Deno.readTextFile(path)).outbox, [], "acknowledged: gone from the journal");
    assert.ok(recorded.includes("typed before the crash"), "its copy went to the transcript");
    // Alice's goodbye comes after anything else she sent: a second copy would be there by now.
    await bob.next("presence", (e) => e.event === "leave" && e.name === "alice");
    assert.equal(bob.messages().filter((m) => m.text === "typed before the crash").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runTui() shows the transcript above the new session, and a storage warning as a notice", async () => {
  await using server = await startServer(["--ephemeral"]);
  const asked: string[] = [];
  const term = new FakeTerminal(70, 12);
  const running = runTui(
    aliceOn(server.port, {
      rooms: ["lobby", "dev"],
      storage: () => ({
        journal: new MemoryJournal(),
        onMessage: () => {},
        close: () => {},
        warning: "another chat client is using this name's journal",
      }),
      transcript: (room) => {
        asked.push(room);
        return room === "lobby"
          ? [{
            room,
            seq: 3,
            ts: Date.now() - 3_600_000,
            from: "bob",
            text: "said an hour ago",
            action: false,
          }]
          : [];
      },
    }),
    io(),
    term,
  );
  await term.waitRow(/^ connected/);
  const rows = term.screen.text();
  const said = rows.findIndex((r) => r.includes("<bob> said an hour ago"));
  assert.ok(said > 0, rows.join("\n"));
  assert.match(rows[said - 1], /^-- earlier: \w{3} \d{4}-\d\d-\d\d -+$/);
  assert.match(rows[said + 1], /^-- end of earlier messages -+$/);
  assert.ok(
    rows.slice(said + 2).some((r) => /!! warning: another chat client is using/.test(r)),
    rows.join("\n"),
  );
  assert.deepEqual(asked, ["lobby", "dev"]);
  term.type("\x04");
  assert.equal(await running, 0);
});

Deno.test("runTui() opens again the windows of the stored conversations the journal knows, with their transcript", async () => {
  await using server = await startServer(["--ephemeral"]);
  const journal = new MemoryJournal();
  for (const [room, seq] of [["@carol", 1], ["@Bob", 2], ["@zed", 3]] as const) journal.seq(room, seq);
  const asked: string[] = [];
  const hourAgo = Date.now() - 3_600_000;
  const entry = (room: string, from: string, text: string, ts: number) => ({
    room,
    seq: 1,
    ts,
    from,
    text,
    action: false,
  });
  const term = new FakeTerminal(70, 12);
  const running = runTui(
    aliceOn(server.port, {
      storage: () => ({ journal, onMessage: () => {}, close: () => {} }),
      transcript: (room, me) => {
        asked.push(`${room} of ${me}`);
        if (room === "@Bob") return [entry(room, "Bob", "kept from last time", hourAgo)];
        if (room === "@carol") return [entry(room, "carol", "older still", hourAgo - 60_000)];
        return [];
      },
    }),
    io(),
    term,
  );
  await term.waitRow(/^ connected/);
  assert.deepEqual(asked.sort(), ["@Bob of alice", "@carol of alice", "@zed of alice", "lobby of alice"]);
  term.type("\x1b2");
  await term.waitRow(/^\[@Bob\]/);
  assert.ok(
    term.screen.text().some((r) => r.includes("<Bob> kept from last time")),
    term.screen.text().join("\n"),
  );
  term.type("\x1b3");
  await term.waitRow(/^\[@carol\]/);
  term.type("\x1b4");
  assert.ok(
    term.screen.text().some((r) => r.startsWith("[@carol]")),
    "no window for a conversation with no transcript",
  );
  term.type("\x04");
  assert.equal(await running, 0);
});

Deno.test("runTui() restores the terminal and fails with the error when handling a client event throws", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using bob = await joinJson(server.port, "bob");
  const term = new FakeTerminal(70, 10);
  const running = runTui(
    aliceOn(server.port, {
      storage: () => ({
        journal: new MemoryJournal(),
        onMessage: (m) => {
          if (m.text === "trigger") throw new Error("transcript bug");
        },
        close: () => {},
      }),
    }),
    io(),
    term,
  );
  await term.waitRow(/^ connected/);
  await bob.say("trigger");
  await assert.rejects(running, /while handling a "message" event: transcript bug/);
  assert.deepEqual([term.entered, term.restored], [1, 1]);
  await bob.next("presence", (e) => e.event === "leave" && e.name === "alice" && e.reason === "quit");
});

Deno.test("runTui() restores the terminal and fails when painting an event throws", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using bob = await joinJson(server.port, "bob");
  class BrokenTerminal extends FakeTerminal {
    broken = false;
    override write(text: string): void {
      if (this.broken) throw new Error("terminal write failed");
      super.write(text);
    }
  }
  const term = new BrokenTerminal(70, 10);
  const running = runTui(aliceOn(server.port), io(), term);
  await term.waitRow(/^ connected/);
  term.broken = true;
  await bob.say("anything that needs painting");
  await assert.rejects(running, /terminal write failed/);
  assert.deepEqual([term.entered, term.restored], [1, 1]);
});

Deno.test("runTui() keeps /ignore across restarts in the preferences store", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "chat-tui-prefs-" });
  try {
    const options: TuiOptions = {
      servers: [{ host: "127.0.0.1", port: server.port }],
      name: "alice",
      rooms: ["lobby"],
      timeoutMs: 5000,
      reconnectAttempts: 3,
      colour: false,
      prefs: (name) => prefsStore(`${dir}/${name}.json`),
    };
    const term = new FakeTerminal(80, 10);
    const first = runTui(options, io(), term);
    await term.waitRow(/^ connected/);
    term.type("/ignore mallory\r");
    await term.waitRow(/ignoring mallory/);
    term.type("/quit\r");
    assert.equal(await first, 0);

    await using mallory = await joinJson(server.port, "mallory");
    await using bob = await joinJson(server.port, "bob");
    const again = new FakeTerminal(80, 10);
    const second = runTui(options, io(), again);
    await again.waitRow(/^ connected/);
    await mallory.say("buy my stuff");
    await mallory.next("ack");
    await bob.say("hello alice");
    await again.waitRow(/<bob> hello alice$/);
    assert.ok(!again.screen.text().some((r) => r.includes("buy my stuff")), again.screen.text().join("\n"));
    again.type("\x03");
    assert.equal(await second, 130);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
