import assert from "node:assert/strict";
import { authFailedHint } from "../../src/cli/secrets.ts";

Deno.test("authFailedHint() names every way to give a password when none was given", () => {
  const hint = authFailedHint({ askPassword: false }, {});
  assert.match(hint, /^the server wants a password/);
  for (const way of ["--ask-password", "--password-file FILE", "CHAT_PASSWORD"]) {
    assert.ok(hint.includes(way), way);
  }
});

Deno.test("authFailedHint() names the password that was refused, by where it came from", () => {
  assert.match(
    authFailedHint({ passwordFile: "/etc/chat.pw", askPassword: false }, { CHAT_PASSWORD: "x" }),
    /^the password in --password-file \/etc\/chat\.pw was refused/,
  );
  assert.match(
    authFailedHint({ askPassword: false }, { CHAT_PASSWORD: "x" }),
    /^the password in CHAT_PASSWORD was/,
  );
  assert.match(authFailedHint({ askPassword: true }, {}), /^the password typed was refused/);
  // An empty variable counts as unset, as everywhere else.
  assert.match(authFailedHint({ askPassword: false }, { CHAT_PASSWORD: "" }), /^the server wants a password/);
});
