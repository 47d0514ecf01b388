/**
 * The browser client in a real browser (Debian's Chromium through
 * playwright-core) against a real `chat serve`, with terminal clients
 * (`chat join --json`) and raw protocol clients beside it. Each test starts
 * its own server on 127.0.0.1 with a temporary data directory, serves the
 * committed page (src/web/assets_gen.ts), and closes every browser and
 * process in the end.
 *
 * @module
 */

import assert from "node:assert/strict";
import { nameColour } from "../../src/client/colour.ts";
import { Feature } from "../../src/protocol/extensions.ts";
import { Browser } from "../_helpers/browser.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { runChat } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { WebChat } from "../_helpers/web_chat.ts";
import { WebUser } from "../_helpers/web_page.ts";

/** Runs `body` and, if it fails, adds what the browser logged to the error. */
async function withConsole(browser: Browser, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Error && browser.console.length > 0) {
      err.message += `\nbrowser console:\n${browser.console.slice(-40).join("\n")}`;
    }
    throw err;
  }
}

/** Counts each text among `texts`. */
function counts(texts: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

Deno.test("two browser pages and a terminal client chat in two rooms and a direct message", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using carol = await joinJson(chat.port, "carol");
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    const bob = await WebUser.signIn(await browser.page(), chat.url, "bob");
    await alice.until(
      "bob in the member list",
      async () => (await alice.members()).includes("bob") || undefined,
    );
    assert.deepEqual(await alice.members(), ["carol", "alice", "bob"], "in the order they joined");

    // #lobby: the page, the other page and the terminal client see each other's messages once.
    await alice.say("hello from the browser");
    await bob.sees("hello from the browser");
    await carol.next("message", (m) => m.text === "hello from the browser" && m.from === "alice");
    await carol.say("hello from the terminal");
    await alice.sees("hello from the terminal");
    await bob.sees("hello from the terminal");
    // Nick colours as in the terminal client: the same function picks them.
    const from = bob.page.getByRole("log").locator("p.chat", { hasText: "hello from the terminal" }).locator(
      ".from",
    );
    assert.equal(await from.innerText(), "carol");
    assert.match((await from.getAttribute("class"))!, new RegExp(`\\bc${nameColour("carol")}\\b`));
    assert.match(
      await bob.page.getByRole("log").locator("p.chat time").first().innerText(),
      /^\d\d:\d\d$/,
      "a time in front of each line",
    );

    // A second room, joined with the command of the shared registry; Tab completes the command.
    await alice.input.fill("/jo");
    await alice.input.press("Tab");
    assert.equal(await alice.input.inputValue(), "/join ");
    await alice.input.pressSequentially("dev");
    await alice.input.press("Enter");
    await alice.until(
      "#dev shown",
      async () => (await alice.page.locator("#window-title").innerText()) === "#dev" || undefined,
    );
    await bob.say("/join dev");
    await carol.say("/join dev");
    await carol.next("members", (e) => e.room === "dev");
    await alice.until("three in #dev", async () => (await alice.members()).length === 3 || undefined);
    await alice.say("in dev now");
    await bob.sees("in dev now");
    await carol.next("message", (m) => m.room === "dev" && m.text === "in dev now");
    await alice.open("#lobby");
    await carol.say("/switch dev");
    await carol.say("carol says alice should look");
    // Alice looks at #lobby: #dev counts one unread message and is marked as mentioning her.
    await alice.until("#dev marked", async () => (await alice.windows()).includes("2 #dev 1!") || undefined);
    assert.deepEqual(
      await alice.texts(),
      ["hello from the browser", "hello from the terminal"],
      "#lobby is shown",
    );
    await alice.page.keyboard.press("Alt+2");
    await alice.sees("carol says alice should look");
    assert.ok((await alice.windows()).includes("2 #dev"), "looking at it clears the count");

    // A direct message from the terminal opens a window on the page; the reply goes back to the terminal.
    await carol.say("/msg alice just between us");
    await alice.until(
      "an @carol window",
      async () => (await alice.windows()).some((w) => /@carol 1!$/.test(w)) || undefined,
    );
    await alice.open("@carol");
    await alice.sees("just between us");
    await alice.say("got it");
    await carol.next("direct", (d) => d.from === "alice" && d.to === "carol" && d.text === "got it");
    await alice.sees("got it");
    // Ctrl-K finds a window by name.
    await alice.page.keyboard.press("Control+k");
    await alice.page.getByRole("textbox", { name: "Go to window" }).fill("lob");
    await alice.page.keyboard.press("Enter");
    await alice.until(
      "#lobby shown",
      async () => (await alice.page.locator("#window-title").innerText()) === "#lobby" || undefined,
    );

    // Nothing was shown twice anywhere.
    for (const [who, user] of [["alice", alice], ["bob", bob]] as const) {
      for (const [text, n] of counts(await user.texts())) {
        assert.equal(n, 1, `${who} shows "${text}" ${n} times`);
      }
    }
    assert.equal(carol.messages().filter((m) => m.text === "in dev now").length, 1);
  });
});

Deno.test("a hostile message is shown as text: no element, no dialog, no escape sequence at work", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    let dialogs = 0;
    alice.page.on("dialog", (d) => {
      dialogs++;
      d.dismiss().catch(() => {});
    });
    await using mallory = await RawClient.connect(chat.port, "mallory");
    await mallory.handshake("mallory", ["lobby"]);
    const hostile = [
      "<img src=x onerror=alert(1)>",
      '<a href="javascript:alert(2)">click me</a>',
      "<script>alert(3)</script>",
      "\x1b[2J\x1b]0;pwned\x07 cleared?",
      "\u202eevil\u202c reversed",
    ];
    let id = 1;
    for (const text of hostile) await mallory.send({ type: "send", id: id++, room: "lobby", flags: 0, text });
    await mallory.send({
      type: "private",
      id: id++,
      to: "alice",
      flags: 0,
      text: "<img src=y onerror=alert(4)>",
    });
    await alice.sees("<script>alert(3)</script>");
    await alice.sees("\u241b[2J\u241b]0;pwned\u2407 cleared?");
    await alice.sees("\ufffdevil\ufffd reversed");
    await alice.sees("<img src=x onerror=alert(1)>");
    await alice.sees('<a href="javascript:alert(2)">click me</a>');
    await alice.open("@mallory");
    await alice.sees("<img src=y onerror=alert(4)>");
    const made = await alice.page.evaluate(
      "document.querySelectorAll('#log img, #log a, #log script, #room-list img, img, iframe').length",
    );
    assert.equal(made, 0, "no element was made from a message");
    assert.equal(dialogs, 0, "no dialog opened");
    assert.equal(await alice.page.title(), "chat", "the title is the page's own");
  });
});

Deno.test("reloading the page keeps the history and shows no message twice", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using carol = await joinJson(chat.port, "carol");
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    for (let i = 1; i <= 3; i++) await carol.say(`before ${i}`);
    await carol.waitMessages(3);
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    await alice.sees("before 3");
    await alice.say("mine 1");
    await alice.sees("mine 1");
    await carol.say("while alice reads");
    await alice.sees("while alice reads");
    const before = await alice.texts();
    await alice.page.reload();
    await alice.connected();
    await alice.until(
      "the same lines after the reload",
      async () => JSON.stringify(await alice.texts()) === JSON.stringify(before) || undefined,
    );
    await carol.say("after the reload");
    await alice.sees("after the reload");
    assert.deepEqual(await alice.texts(), [...before, "after the reload"]);
    assert.deepEqual(
      carol.all("presence").filter((p) => p.name === "alice").map((p) => p.event),
      ["join"],
      "the reload resumed alice's session: nobody saw her leave and come back",
    );
  });
});

Deno.test("a server restart while the page is open: it reconnects, resumes, and sends what was typed offline once", async () => {
  await using chat = await WebChat.start([]);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const pending = (u: WebUser) => u.page.getByRole("log").locator("p.pending").count();
    let alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    const context = alice.page.context();
    await alice.say("before the restart");
    await alice.sees("before the restart");
    // The line shows at once, pending: wait for its ACK, or the stop below may catch it unacknowledged.
    await alice.until("the first line acknowledged", async () => (await pending(alice)) === 0 || undefined);

    // Typed while the server is down, then the tab is closed: the page that opens later sends it.
    await chat.stop();
    await alice.until(
      "the page to say it is offline",
      async () => (await alice.status()).startsWith("offline") || undefined,
    );
    await alice.say("typed offline 1");
    assert.equal(await pending(alice), 1, "shown pending");
    await alice.page.close();
    await chat.start();
    await using carol = await joinJson(chat.port, "carol");
    const page = await context.newPage();
    await page.goto(chat.url);
    alice = new WebUser(page, "alice");
    await alice.connected();
    await carol.next("message", (m) => m.text === "typed offline 1");
    await alice.until("nothing pending", async () => (await pending(alice)) === 0 || undefined);

    // Typed while the server is down, the page open: sent once it has reconnected by itself.
    await chat.stop();
    await alice.until(
      "the page to say it is offline",
      async () => (await alice.status()).startsWith("offline") || undefined,
    );
    await alice.say("typed offline 2");
    await alice.say("typed offline 3");
    assert.equal(await pending(alice), 2);
    await chat.start();
    await alice.connected(20_000);
    await alice.until("nothing pending", async () => (await pending(alice)) === 0 || undefined, 20_000);

    await using check = await RawClient.connect(chat.port, "check");
    await check.handshake("checker", ["lobby"]);
    await check.next("fetched");
    const stored = check.messages.filter((m) => m.type === "message").map((m) =>
      (m as { text: string }).text
    );
    const expected = ["before the restart", "typed offline 1", "typed offline 2", "typed offline 3"];
    assert.deepEqual(stored, expected, "each stored once, in order");
    await alice.sees("typed offline 3");
    assert.deepEqual(await alice.texts(), expected, "the page shows each once");
  });
});

Deno.test("scrolling up fetches older messages, each shown once", async () => {
  await using chat = await WebChat.start(["--ephemeral", "--history", "10"]);
  await using bot = await RawClient.connect(chat.port, "bot");
  await bot.handshake("bot", ["lobby"]);
  for (let i = 1; i <= 120; i++) {
    await bot.send({ type: "send", id: i, room: "lobby", flags: 0, text: `line ${i}` });
  }
  await bot.next("ack", (a) => a.id === 120);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    await alice.sees("line 120");
    // The recent history (10 lines) does not fill the page, so the page asks for more by itself until it
    // does; then each scroll to the top asks for the page before. The page may fetch on its own between two
    // reads, so the count to beat and the check for the first line come from one read.
    for (let i = 0; i < 10; i++) {
      const shown = await alice.texts();
      if (shown.includes("line 1")) break;
      const n = shown.length;
      await alice.page.evaluate("document.querySelector('[role=log]').scrollTop = 0");
      await alice.until("older messages", async () => (await alice.texts()).length > n || undefined);
    }
    const texts = await alice.texts();
    assert.deepEqual(texts, Array.from({ length: 120 }, (_, i) => `line ${i + 1}`));
    assert.equal(await alice.page.getByRole("button", { name: "Load older messages" }).isVisible(), false);
  });
});

Deno.test("a phone-sized page: the room list opens from the top bar, and messages can be sent", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const page = await browser.page({ viewport: { width: 390, height: 800 } });
    const alice = await WebUser.signIn(page, chat.url, "alice");
    assert.equal(await alice.rooms().isVisible(), false, "folded away on a narrow screen");
    // The README's names: the Rooms and People buttons (aria-expanded says whether each is open).
    const roomsButton = page.getByRole("button", { name: "Rooms", exact: true });
    const peopleButton = page.getByRole("button", { name: "People", exact: true });
    assert.deepEqual([await roomsButton.count(), await peopleButton.count()], [1, 1]);
    await roomsButton.click();
    assert.equal(await alice.rooms().isVisible(), true);
    assert.equal(await roomsButton.getAttribute("aria-expanded"), "true");
    // The windows are in the list named Rooms.
    assert.deepEqual(
      (await page.getByRole("list", { name: "Rooms" }).getByRole("listitem").allInnerTexts())
        .map((t) => t.replace(/\s+/g, " ").trim()),
      ["1 #lobby"],
    );
    await alice.open("#lobby");
    assert.equal(await alice.rooms().isVisible(), false, "picking a window folds it again");
    const members = page.getByRole("list", { name: "Members" });
    assert.equal(await members.isVisible(), false);
    await peopleButton.click();
    assert.equal(await members.isVisible(), true);
    assert.equal(await peopleButton.getAttribute("aria-expanded"), "true");
    await peopleButton.click();
    await alice.say("from my phone");
    await alice.sees("from my phone");
    const overflow = await page.evaluate(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert.equal(overflow, 0, "nothing wider than the screen");
  });
});

Deno.test("a mention arrives in a hidden tab: a desktop notification, once permitted", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const page = await browser.page();
    await page.context().grantPermissions(["notifications"]);
    // Headless Chromium shows no notifications and its tabs are never hidden: record the notifications made,
    // and say the tab is hidden, before the page's script runs.
    await page.addInitScript(`
      globalThis.__notes = [];
      globalThis.Notification = class { static permission = "granted";
        constructor(title, o) { globalThis.__notes.push(title + ": " + o.body); } close() {} };
      Object.defineProperty(document, "visibilityState", { get: () => globalThis.__hidden ? "hidden" : "visible" });`);
    const alice = await WebUser.signIn(page, chat.url, "alice");
    await page.evaluate("globalThis.__hidden = true");
    await using bob = await RawClient.connect(chat.port, "bob");
    await bob.handshake("bob", ["lobby"]);
    await bob.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "no mention here" });
    await bob.send({ type: "send", id: 2, room: "lobby", flags: 0, text: "alice: are you there?" });
    await bob.send({ type: "private", id: 3, to: "alice", flags: 0, text: "ping" });
    await alice.until("two notifications", async () => {
      const notes = await page.evaluate("globalThis.__notes") as string[];
      return notes.length >= 2 ? notes : undefined;
    });
    // A direct message is relayed at once, a room message once stored: either may come first.
    assert.deepEqual((await page.evaluate("globalThis.__notes") as string[]).sort(), [
      "bob (direct message): ping",
      "bob in #lobby: alice: are you there?",
    ]);
    assert.equal(await page.title(), "(3) chat", "the tab's title counts what arrived while hidden");
  });
});

Deno.test("first paint and a joined room on loopback (measured, printed)", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const page = await browser.page();
    const alice = await WebUser.signIn(page, chat.url, "alice");
    const signIn = await page.evaluate(`performance.getEntriesByName("chat:joined")[0].startTime -
      performance.getEntriesByName("chat:signin")[0].startTime`) as number;
    await alice.say("warm");
    await alice.sees("warm");
    // A returning user: the page signs in by itself, so navigation to a joined room involves no typing.
    const samples: Array<{ paint: number; joined: number }> = [];
    for (let i = 0; i < 5; i++) {
      await page.reload();
      await alice.connected();
      samples.push(
        await page.evaluate(`({
        paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
        joined: performance.getEntriesByName("chat:joined")[0]?.startTime ?? -1,
      })`) as { paint: number; joined: number },
      );
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const paint = median(samples.map((s) => s.paint));
    const joined = median(samples.map((s) => s.joined));
    console.log(
      `browser client on loopback, median of ${samples.length} reloads: first contentful paint ${
        paint.toFixed(0)
      } ms, joined room ${joined.toFixed(0)} ms after navigation start; a first sign-in: ${
        signIn.toFixed(0)
      } ms from Join to the joined room`,
    );
    assert.ok(joined > 0 && paint > 0, "both measured");
    // Generous: the target is 300 ms; a loaded 2-core machine must not fail the build over it.
    assert.ok(joined < 5_000, `joined after ${joined} ms`);
  });
});

Deno.test("a second tab of the same browser takes the session over; the first says so and stops", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using carol = await joinJson(chat.port, "carol");
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const first = await WebUser.signIn(await browser.page(), chat.url, "alice");
    await first.say("from the first tab");
    await first.sees("from the first tab");
    const page = await first.page.context().newPage(); // same storage: signs in as alice by itself
    await page.goto(chat.url);
    const second = new WebUser(page, "alice");
    await second.connected();
    await second.sees("from the first tab");
    await first.until(
      "the first tab to say it was replaced",
      async () => (await first.lines()).some((l) => l.includes("REPLACED")) || undefined,
    );
    assert.notEqual(await first.status(), "connected");
    await second.say("from the second tab");
    await carol.next("message", (m) => m.text === "from the second tab");
    await second.page.reload();
    await second.connected();
    assert.deepEqual(await second.texts(), ["from the first tab", "from the second tab"]);
    assert.equal(carol.messages().filter((m) => m.text === "from the second tab").length, 1);
  });
});

Deno.test("signing in: a taken name is refused with the reason, a password box appears when one is needed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-web-pw-" });
  try {
    await Deno.writeTextFile(`${dir}/password`, "a long shared secret\n");
    await using chat = await WebChat.start(["--ephemeral", "--password-file", `${dir}/password`]);
    await using browser = await Browser.launch();
    await withConsole(browser, async () => {
      const page = await browser.page();
      await page.goto(chat.url);
      assert.equal(
        await page.getByLabel("Password", { exact: true }).isVisible(),
        false,
        "no password box at first",
      );
      await page.getByRole("textbox", { name: "Name" }).fill("alice");
      await page.getByRole("button", { name: "Join" }).click();
      await page.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
      assert.match(await page.getByRole("alert").innerText(), /needs a password/);
      await page.getByLabel("Password", { exact: true }).fill("wrong one");
      await page.getByRole("button", { name: "Join" }).click();
      await page.getByRole("alert").filter({ hasText: "Wrong password" }).waitFor();
      await page.getByLabel("Password", { exact: true }).fill("a long shared secret");
      await page.getByRole("button", { name: "Join" }).click();
      const alice = new WebUser(page, "alice");
      await alice.connected();
      await page.reload(); // the password is kept for this tab's reconnects and reloads
      await alice.connected();

      const other = await browser.page();
      await other.goto(chat.url);
      await other.getByRole("textbox", { name: "Name" }).fill("ALICE");
      await other.getByRole("button", { name: "Join" }).click();
      await other.getByLabel("Password", { exact: true }).fill("a long shared secret");
      await other.getByRole("button", { name: "Join" }).click();
      await other.getByRole("alert").filter({ hasText: "NAME_TAKEN" }).waitFor();
      assert.equal(
        await other.getByRole("button", { name: "Join" }).isEnabled(),
        true,
        "the form can be used again",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the page: a long message goes in parts, a room's topic shows in its title, /list lists the rooms", async () => {
  await using chat = await WebChat.start(["--ephemeral", "--max-text", "200"]);
  await using carol = await joinJson(chat.port, "carol", { flags: ["--room", "lobby,dev"] });
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    const words = Array.from({ length: 50 }, (_, i) => `word${String(i).padStart(2, "0")}`).join(" ");
    await alice.say(words);
    const got = await carol.waitMessages(2);
    assert.equal(got.map((m) => m.text).join(" "), words, "two messages, split between words, in order");
    assert.deepEqual(carol.all("error"), []);

    await carol.say("/topic be kind");
    const title = () => alice.page.locator("#window-title").innerText();
    await alice.until(
      "the topic in the title",
      async () => (await title()) === "#lobby \u2014 be kind" || undefined,
    );
    await alice.until(
      "the change said in the log",
      async () =>
        (await alice.lines()).some((l) => l.includes("carol set the topic of #lobby: be kind")) || undefined,
    );
    await alice.say("/list");
    await alice.until(
      "the room list",
      async () =>
        (await alice.lines()).some((l) => /2 room\(s\), by size: #lobby \(2\): be kind #dev \(1\)/.test(l)) ||
        undefined,
    );
  });
});

/** The keys the page keeps in localStorage. */
async function kept(user: WebUser): Promise<string[]> {
  const keys = await user.page.evaluate("Object.keys(localStorage)") as string[];
  return keys.filter((k) => k.startsWith("chat.v1.")).sort();
}

Deno.test("/quit and Sign out wait until the server has confirmed what was typed, then say goodbye and forget it", async () => {
  // One message a second: most of what is typed is still in the outbox when /quit comes.
  await using chat = await WebChat.start(["--ephemeral", "--rate-limit", "1", "--rate-burst", "1"]);
  await using carol = await joinJson(chat.port, "carol");
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const from = (name: string) => carol.messages().filter((m) => m.from === name).map((m) => m.text);
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    for (let i = 1; i <= 4; i++) await alice.say(`m${i}`);
    await alice.say("/quit bye now");
    const left = await carol.next("presence", (p) => p.event === "leave" && p.name === "alice");
    assert.deepEqual([left.reason, left.text], ["quit", "bye now"]);
    assert.deepEqual(from("alice"), ["m1", "m2", "m3", "m4"], "each delivered before the goodbye");
    await alice.page.getByRole("button", { name: "Join" }).waitFor();
    assert.deepEqual(await kept(alice), [], "the name and what was kept for it are forgotten");

    const bob = await WebUser.signIn(await browser.page(), chat.url, "bob");
    for (let i = 1; i <= 3; i++) await bob.say(`b${i}`);
    await bob.page.getByRole("button", { name: "Sign out" }).click();
    await carol.next("presence", (p) => p.event === "leave" && p.name === "bob");
    assert.deepEqual(from("bob"), ["b1", "b2", "b3"]);
    await bob.page.getByRole("button", { name: "Join" }).waitFor();
    assert.deepEqual(await kept(bob), []);
  });
});

/** The password of a test account. */
const password = (name: string) => `${name}'s long password`;

/** A web chat whose server starts with an account for each of `names` (each with its {@linkcode password}). */
function withAccounts(names: string[]): Promise<WebChat> {
  return WebChat.start([], async (dataDir) => {
    for (const name of names) {
      const r = await runChat(["user", "add", name, "--data-dir", dataDir], {
        env: { CHAT_PASSWORD: password(name) },
      });
      assert.equal(r.code, 0, r.output);
    }
  });
}

Deno.test("a stored conversation's window fetches older messages: /history, and scrolling up", async () => {
  await using chat = await withAccounts(["alice", "bob"]);
  // 120 messages while alice is away: signing in brings the newest page of them, the rest is older.
  await using bob = await RawClient.connect(chat.port, "bob");
  await bob.handshake("bob", [], { password: password("bob"), features: [Feature.DMS] });
  for (let i = 1; i <= 120; i++) {
    await bob.send({ type: "private", id: i, to: "alice", flags: 0, text: `dm ${i}` });
  }
  await bob.next("ack", (a) => a.id === 120);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice", password("alice"));
    await alice.until(
      "an @bob window",
      async () => (await alice.windows()).some((w) => /@bob/.test(w)) || undefined,
    );
    await alice.open("@bob");
    await alice.sees("dm 120");
    const newest = await alice.texts();
    assert.ok(newest.length < 120 && newest.length >= 10, `a page, not everything (${newest.length})`);
    const first = Number(newest[0].slice(3));
    await alice.say("/history 5");
    await alice.until(
      "five older messages",
      async () => (await alice.texts())[0] === `dm ${first - 5}` || undefined,
    );
    assert.equal(await alice.page.getByRole("button", { name: "Load older messages" }).isVisible(), true);
    for (let i = 0; i < 20; i++) {
      const shown = await alice.texts();
      if (shown.includes("dm 1")) break;
      const n = shown.length;
      await alice.page.evaluate("document.querySelector('[role=log]').scrollTop = 0");
      await alice.until("older messages", async () => (await alice.texts()).length > n || undefined);
    }
    assert.deepEqual(await alice.texts(), Array.from({ length: 120 }, (_, i) => `dm ${i + 1}`));
    assert.equal(await alice.page.getByRole("button", { name: "Load older messages" }).isVisible(), false);
  });
});

Deno.test("a conversation catches up by itself after the tab was closed: every message missed, each once", async () => {
  await using chat = await withAccounts(["alice", "bob"]);
  await using bob = await RawClient.connect(chat.port, "bob");
  await bob.handshake("bob", [], { password: password("bob"), features: [Feature.DMS] });
  await bob.send({ type: "private", id: 1, to: "alice", flags: 0, text: "dm 1" });
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    let alice = await WebUser.signIn(await browser.page(), chat.url, "alice", password("alice"));
    await alice.until(
      "an @bob window",
      async () => (await alice.windows()).some((w) => /@bob/.test(w)) || undefined,
    );
    await alice.open("@bob");
    await alice.sees("dm 1");
    const context = alice.page.context();
    await alice.page.close();
    // More than a page of history (50) while the tab is closed: the page reopened resumes after what it showed.
    for (let i = 2; i <= 90; i++) {
      await bob.send({ type: "private", id: i, to: "alice", flags: 0, text: `dm ${i}` });
    }
    await bob.next("ack", (a) => a.id === 90);
    // A new tab: the name and what was shown are kept (localStorage), the password is asked again.
    alice = await WebUser.signIn(await context.newPage(), chat.url, "alice", password("alice"));
    await alice.open("@bob");
    await alice.sees("dm 90");
    await alice.until(
      "every message missed",
      async () => (await alice.texts()).length === 90 || undefined,
    );
    assert.deepEqual(await alice.texts(), Array.from({ length: 90 }, (_, i) => `dm ${i + 1}`));
  });
});

Deno.test("after /nick, a reload resumes the renamed session, with its windows", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using carol = await joinJson(chat.port, "carol");
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    await alice.say("as alice");
    await carol.next("message", (m) => m.text === "as alice");
    await alice.say("/nick alyx");
    await carol.next("presence", (p) => p.event === "nick" && p.name === "alice" && p.text === "alyx");
    await alice.until(
      "the new name said",
      async () => (await alice.lines()).some((l) => l.includes("alice is now known as alyx")) || undefined,
    );
    await alice.page.reload();
    await alice.connected();
    await alice.say("after the reload");
    const m = await carol.next("message", (m) => m.text === "after the reload");
    assert.equal(m.from, "alyx", "the reload signed in as the new name");
    assert.deepEqual(await alice.texts(), ["as alice", "after the reload"], "the window kept its lines");
    assert.deepEqual(
      carol.all("presence").filter((p) => p.name === "alice" || p.name === "alyx").map((p) =>
        `${p.event} ${p.name}`
      ),
      ["join alice", "nick alice"],
      "the session was resumed: nobody left or joined",
    );
  });
});

Deno.test("Alt-Up and Alt-Down show the previous and next window, and leave the input alone", async () => {
  await using chat = await WebChat.start(["--ephemeral"]);
  await using browser = await Browser.launch();
  await withConsole(browser, async () => {
    const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
    const title = async () => await alice.page.locator("#window-title").innerText();
    await alice.say("/join dev");
    await alice.until("#dev shown", async () => (await title()) === "#dev" || undefined);
    await alice.say("hello dev");
    await alice.sees("hello dev");
    await alice.input.press("Alt+ArrowUp");
    await alice.until("#lobby shown", async () => (await title()) === "#lobby" || undefined);
    assert.equal(await alice.input.inputValue(), "", "Alt-Up recalled nothing");
    await alice.input.press("Alt+ArrowDown");
    await alice.until("#dev shown again", async () => (await title()) === "#dev" || undefined);
    assert.equal(await alice.input.inputValue(), "", "Alt-Down recalled nothing");
    await alice.input.press("ArrowUp");
    assert.equal(await alice.input.inputValue(), "hello dev", "Up alone recalls");
  });
});

Deno.test("a kick's and a ban's reasons are shown as text in the status and on the sign-in form, the kick once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-web-op-" });
  try {
    const tokenFile = `${dir}/token`;
    await Deno.writeTextFile(tokenFile, "an operator token of some length\n");
    await using chat = await WebChat.start(["--ephemeral", "--admin-token-file", tokenFile]);
    await using op = await joinJson(chat.port, "op", { flags: ["--admin-token-file", tokenFile] });
    await using browser = await Browser.launch();
    await withConsole(browser, async () => {
      const alice = await WebUser.signIn(await browser.page(), chat.url, "alice");
      await op.say("/kick alice \u202eevil\u202c \x1b[31mred");
      await alice.until(
        "the status to say why",
        async () => (await alice.status()).startsWith("disconnected") || undefined,
      );
      const shownReason = "kicked by op: \ufffdevil\ufffd \u241b[31mred";
      assert.equal(await alice.status(), `disconnected: KICKED: ${shownReason}`);
      const kicked = (await alice.lines()).filter((l) => l.includes("KICKED"));
      assert.equal(kicked.length, 1, `said once: ${JSON.stringify(kicked)}`);
      assert.ok(kicked[0].includes(shownReason), kicked[0]);

      await op.say("/ban mallory \u202ebad\u202c \x07");
      await op.next("notice", (n) => n.text.includes("banned mallory"));
      const page = await browser.page();
      await page.goto(chat.url);
      await page.getByRole("textbox", { name: "Name" }).fill("mallory");
      await page.getByRole("button", { name: "Join" }).click();
      await page.getByRole("alert").filter({ hasText: "BANNED" }).waitFor({ timeout: 10_000 });
      assert.equal(await page.getByRole("alert").innerText(), "BANNED: banned: \ufffdbad\ufffd \u2407");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
