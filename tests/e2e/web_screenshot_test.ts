/**
 * Screenshots of the browser client, light and dark, taken by the tests'
 * own Chromium on a real conversation: every run takes them (so the code
 * that makes the README's pictures cannot rot), and
 * `deno task screenshots:web` writes them to docs/web-light.png and
 * docs/web-dark.png.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Browser } from "../_helpers/browser.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { WebChat } from "../_helpers/web_chat.ts";
import { WebUser } from "../_helpers/web_page.ts";

const DOCS = new URL("../../docs/", import.meta.url).pathname;
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

Deno.test("screenshots of the page, light and dark, on a conversation in two rooms and a DM", async () => {
  const write = Deno.env.get("CHAT_WRITE_SCREENSHOTS") === "1";
  const out = write ? DOCS : await Deno.makeTempDir({ prefix: "chat-shots-" });
  try {
    // A server of its own for each picture, so both show the same conversation.
    for (const scheme of ["light", "dark"] as const) {
      await using server = await WebChat.start(["--ephemeral"]);
      await using bob = await joinJson(server.port, "bob", { flags: ["--room", "lobby", "--room", "dev"] });
      await using carol = await joinJson(server.port, "carol");
      await using browser = await Browser.launch();
      const page = await browser.page({ colorScheme: scheme, viewport: { width: 1000, height: 560 } });
      const alice = await WebUser.signIn(page, server.url, "alice");
      await alice.say("/join dev");
      await alice.until("#dev joined", async () => (await alice.windows()).includes("2 #dev") || undefined);
      await alice.open("#lobby");
      await bob.say("morning all, the deploy is at 11");
      await alice.sees("morning all, the deploy is at 11");
      await alice.say("great, I'll watch the dashboards");
      await carol.say("/me brings coffee");
      await carol.say("/away in a meeting until 11");
      await bob.say("alice: can you check the staging logs first?");
      await alice.sees("alice: can you check the staging logs first?");
      await alice.say("on it");
      await alice.sees("on it");
      await bob.say("/switch dev");
      await bob.say("build 1432 is green");
      await bob.say("/msg alice logs look clean to me, you?");
      await alice.until("#dev and @bob unread", async () => {
        const ws = await alice.windows();
        return ws.includes("2 #dev 1") && ws.includes("3 @bob 1!") || undefined;
      });
      await alice.input.fill("/join ");
      const file = `${out}/web-${scheme}.png`;
      await page.screenshot({ path: file });
      const bytes = await Deno.readFile(file);
      assert.deepEqual([...bytes.subarray(0, 8)], PNG, `${file} is a PNG`);
      assert.ok(bytes.byteLength > 10_000, `${file} holds a picture (${bytes.byteLength} B)`);
    }
  } finally {
    if (!write) await Deno.remove(out, { recursive: true });
  }
});
