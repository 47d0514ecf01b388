import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";

// The server reads plain TCP through the runtime's own socket ops only once it has checked they behave, and
// says so; CHAT_RAW_CONN=0 keeps it on the public Deno.Conn, which must serve chat just the same.
const CASES: Array<{ env: Record<string, string>; line: RegExp }> = [
  { env: {}, line: /sockets: raw runtime ops \(the runtime's socket ops behave as expected\)/ },
  { env: { CHAT_RAW_CONN: "0" }, line: /sockets: Deno\.Conn \(turned off \(CHAT_RAW_CONN=0\)\)/ },
];
for (const c of CASES) {
  Deno.test(`chat serve ${c.env.CHAT_RAW_CONN ? "with CHAT_RAW_CONN=0 " : ""}logs its socket path and serves`, async () => {
    await using server = await startServer(["--ephemeral"], { env: c.env });
    await server.proc.stderr.next((l) => c.line.test(l), "the socket path line");
    await using alice = await joinJson(server.port, "alice");
    await using bob = await joinJson(server.port, "bob");
    await alice.say("over this path");
    const got = await bob.next("message", (m) => m.text === "over this path");
    assert.equal(got.from, "alice");
  });
}
