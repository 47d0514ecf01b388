/**
 * The abuse battery, issue 16 item 6: look-alike names (UTS #39 skeletons) against a real server with a data
 * directory. Next to an online `alice`, `ɑlice` (U+0251) and `aʟice` (U+029F) are refused; `сarol` (Cyrillic
 * с) is refused while the registered `carol` is offline; a Cyrillic look-alike of a banned name is refused as
 * banned; a distinct name still gets in.
 */

import assert from "node:assert/strict";
import { PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const OP_TOKEN = "0123456789abcdef-operator-token";

/** Sends a HELLO as `name` on a new connection; returns the server's first answer (a WELCOME or an ERROR). */
async function helloAs(port: number, name: string) {
  await using raw = await RawClient.connect(port, JSON.stringify(name));
  await raw.send({ type: "hello", version: PROTOCOL_VERSION, name, rooms: [], extensions: [] });
  return await waitFor(
    raw,
    () => raw.messages.find((m) => m.type === "welcome" || m.type === "error"),
    `a WELCOME or an ERROR for ${name}`,
  );
}

Deno.test("look-alikes of online, registered-but-offline and banned names are refused; distinct names are not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-names-" });
  try {
    const dataDir = `${dir}/data`;
    const added = await runChat(["user", "add", "carol", "--data-dir", dataDir], {
      env: { CHAT_PASSWORD: "carol's own secret" },
    });
    assert.equal(added.code, 0, added.output);
    const tokenFile = `${dir}/token`;
    await Deno.writeTextFile(tokenFile, `${OP_TOKEN}\n`, { mode: 0o600 });
    await using server = await startServer(["--data-dir", dataDir, "--admin-token-file", tokenFile]);
    await using alice = await joinJson(server.port, "alice");
    await using op = await joinJson(server.port, "op", { flags: ["--admin-token-file", tokenFile] });
    await op.say("/ban mallory 1h spam");
    await op.next("notice", (n) => n.kind === "moderation" && n.text.startsWith("banned mallory"));

    const cases: Array<[string, string, RegExp]> = [
      ["\u0251lice", "NAME_TAKEN", /looks too much like "alice", who is online/],
      ["a\u029fice", "NAME_TAKEN", /looks too much like "alice", who is online/],
      ["\u0441arol", "NAME_TAKEN", /looks too much like "carol", a registered name/],
      ["m\u0430llory", "BANNED", /^banned until .*: spam$/],
    ];
    for (const [name, code, message] of cases) {
      const answer = await helloAs(server.port, name);
      assert.equal(answer.type, "error", `${name} was let in`);
      if (answer.type !== "error") continue;
      assert.equal(answer.code, code, `${name}: ${answer.message}`);
      assert.match(answer.message, message, name);
      assert.equal(answer.fatal, true);
    }
    for (const name of ["a.lice", "caroline"]) {
      assert.equal((await helloAs(server.port, name)).type, "welcome", `${name} is not a look-alike`);
    }
    assert.equal(alice.all("error").length, 0, alice.describe());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
