import assert from "node:assert/strict";
import { diskHasRoom, fullError, openFailureText, sizeText } from "../../src/store/full.ts";
import { StoreError } from "../../src/chat/ports.ts";

const MiB = 1024 * 1024;
const SQLITE_FULL = "database or disk is full";

Deno.test("fullError(): with a size cap and a disk with room, it is the cap, and the message says what to do", () => {
  const e = fullError("cannot store 1 message(s)", SQLITE_FULL, "/srv/chat", 5 * MiB, true);
  assert.equal(e.kind, "limit");
  assert.equal(
    e.message,
    "cannot store 1 message(s): the store reached its size limit of 5 MiB (--max-store-mb): raise --max-store-mb, " +
      "or keep less history (--retention-messages, --retention-days)",
  );
  assert.doesNotMatch(e.message, /disk/);
  assert.equal(fullError("x", SQLITE_FULL, "/srv/chat", 5 * MiB, undefined).kind, "limit", "room unknown");
});

Deno.test("fullError(): without a cap, or with no room on the disk, it is the disk, named, with what to do", () => {
  for (const cap of [0, 5 * MiB]) {
    const e = fullError("cannot store 1 message(s)", SQLITE_FULL, "/srv/chat", cap, false);
    assert.equal(e.kind, "full");
    assert.equal(
      e.message,
      "cannot store 1 message(s): the disk holding /srv/chat is full: free space on it, " +
        "or move the data directory to a disk with room (database or disk is full)",
    );
  }
  assert.equal(
    fullError("x", SQLITE_FULL, "/srv/chat", 0, true).kind,
    "full",
    "no cap: only the disk is left",
  );
});

Deno.test("openFailureText(): a store that cannot open on a full disk names the directory and the fixes", () => {
  // What SQLite says at start when the disk is full (measured on a full tmpfs): a bare "disk I/O error".
  const io = new StoreError("io", "cannot use /srv/chat/chat.db: disk I/O error");
  assert.equal(
    openFailureText(io, "/srv/chat", false),
    "cannot open the message store in /srv/chat: the disk holding it is full " +
      "(cannot use /srv/chat/chat.db: disk I/O error). Free space on that disk, or start with --data-dir on a " +
      "disk with room (or --ephemeral, without history)",
  );
  // mkdir on a full disk fails too: kind "open", same advice.
  const mkdir = new StoreError("open", "cannot create data directory /srv/chat: No space left on device");
  assert.match(
    openFailureText(mkdir, "/srv/chat", false),
    /^cannot open the message store in \/srv\/chat: the disk/,
  );
});

Deno.test("openFailureText(): an I/O error with room on the disk still names the directory and what to check", () => {
  const io = new StoreError("io", "cannot use /srv/chat/chat.db: disk I/O error");
  for (const room of [true, undefined]) {
    const text = openFailureText(io, "/srv/chat", room);
    assert.match(
      text,
      /^cannot open the message store in \/srv\/chat \(cannot use \/srv\/chat\/chat\.db: disk I\/O error\)\./,
    );
    assert.match(
      text,
      /free space and works, and that \/srv\/chat is writable; or start with --data-dir elsewhere/,
    );
  }
  // Other failures already say what they are.
  const corrupt = new StoreError("corrupt", "/srv/chat/chat.db failed its integrity check: x");
  assert.equal(openFailureText(corrupt, "/srv/chat", false), corrupt.message);
  const plain = new Error("something else");
  assert.equal(openFailureText(plain, "/srv/chat", true), "something else");
});

Deno.test("diskHasRoom() writes a probe beside the store, or its nearest existing parent, and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-room-" });
  try {
    assert.equal(diskHasRoom(dir, 64 * 1024), true);
    assert.equal(diskHasRoom(`${dir}/not/made/yet`, 64 * 1024), true, "a data dir not created yet");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "the probes are gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sizeText() writes sizes briefly", () => {
  assert.equal(sizeText(MiB), "1 MiB");
  assert.equal(sizeText(1.5 * MiB), "1.5 MiB");
  assert.equal(sizeText(64 * 1024), "64 KiB");
  assert.equal(sizeText(12.34 * MiB), "12 MiB");
  assert.equal(sizeText(0), "0 KiB");
});
