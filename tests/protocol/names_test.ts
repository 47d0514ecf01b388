import assert from "node:assert/strict";
import {
  checkName,
  checkRoom,
  DEFAULT_ROOM,
  MAX_NAME_CHARS,
  MAX_ROOM_CHARS,
  nameKey,
  nameSkeleton,
  nameSkeletons,
  skeletonByRounds,
} from "../../src/protocol/mod.ts";
import { CONFUSABLES, SMALL_CAPITALS } from "../../src/protocol/confusables.ts";

const GOOD: Record<string, string> = {
  "plain ASCII": "alice",
  "mixed case": "Alice",
  "accented letters": "Émile",
  "a leading accented capital": "Ñandú",
  "CJK": "张伟",
  "a single CJK character": "李",
  "Cyrillic": "Наташа",
  "digits only": "007",
  "a leading digit": "2fast",
  "underscore, hyphen and dot inside": "a_b-c.d",
  "a leading underscore": "_hidden",
  "a trailing dot and hyphen": "x.-",
  "a combining mark with no composed form": "a\u0331b",
  "Devanagari with vowel signs and a virama": "नमस्ते",
  "32 ASCII letters": "a".repeat(32),
  "32 CJK characters": "字".repeat(32),
  "32 astral letters (64 UTF-16 units)": "𝒜".repeat(32),
};

const BAD: Record<string, string> = {
  "the empty string": "",
  "33 characters": "a".repeat(33),
  "33 astral letters": "𝒜".repeat(33),
  "a space inside": "al ice",
  "a leading space": " alice",
  "a trailing space": "alice ",
  "a no-break space": "al\u00a0ice",
  "a tab": "al\tice",
  "a newline": "alice\n",
  "a NUL": "al\u0000ice",
  "a BEL control character": "\u0007bell",
  "a DEL": "alice\u007f",
  "a C1 control character": "al\u0085ice",
  "a zero-width space (U+200B)": "a\u200bb",
  "a zero-width joiner (U+200D)": "a\u200db",
  "a right-to-left override (U+202E)": "a\u202eb",
  "a left-to-right mark (U+200E)": "alice\u200e",
  "a soft hyphen (U+00AD)": "al\u00adice",
  "a byte-order mark (U+FEFF)": "\ufeffalice",
  "a word joiner (U+2060)": "al\u2060ice",
  "a combining grapheme joiner (U+034F)": "alice\u034f",
  "a variation selector (U+FE0F)": "al\ufe0fice",
  "a Hangul filler (U+3164)": "\u3164",
  "a Hangul choseong filler inside (U+115F)": "a\u115fb",
  "an emoji": "😀",
  "a name followed by an emoji": "alice😀",
  "an emoji ZWJ sequence": "👩\u200d💻",
  "a private-use character": "a\ue000",
  "a leading hyphen": "-alice",
  "a leading dot": ".alice",
  "a leading combining mark": "\u0301alice",
  "a slash": "a/b",
  "an at sign": "a@b",
  "a colon": "a:b",
  "a quote": 'a"b',
  "an asterisk": "a*b",
};

for (const [what, raw] of Object.entries(GOOD)) {
  Deno.test(`checkName() accepts ${what}`, () => {
    assert.deepStrictEqual(checkName(raw), { ok: true, value: raw });
  });

  Deno.test(`checkRoom() accepts ${what}, lower-cased`, () => {
    assert.deepStrictEqual(checkRoom(raw), { ok: true, value: raw.toLowerCase() });
  });
}

for (const [what, raw] of Object.entries(BAD)) {
  Deno.test(`checkName() rejects ${what} with INVALID_NAME`, () => {
    const r = checkName(raw);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, "INVALID_NAME");
    assert.match(!r.ok ? r.reason : "", /^name /);
  });

  Deno.test(`checkRoom() rejects ${what} with INVALID_ROOM`, () => {
    const r = checkRoom(raw);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, "INVALID_ROOM");
    assert.match(!r.ok ? r.reason : "", /^room /);
  });
}

Deno.test("checkName() explains an empty name, a long name and a bad character differently", () => {
  assert.deepStrictEqual(checkName(""), { ok: false, code: "INVALID_NAME", reason: "name is empty" });
  assert.deepStrictEqual(checkName("a".repeat(33)), {
    ok: false,
    code: "INVALID_NAME",
    reason: "name has 33 characters, more than 32",
  });
  const r = checkName("a b");
  assert.ok(!r.ok && /letters, digits/.test(r.reason));
});

Deno.test("the name and room limits are 32 code points", () => {
  assert.equal(MAX_NAME_CHARS, 32);
  assert.equal(MAX_ROOM_CHARS, 32);
});

Deno.test("checkName() normalises to NFC: a decomposed é becomes the composed one", () => {
  assert.deepStrictEqual(checkName("Re\u0301my"), { ok: true, value: "R\u00e9my" });
  assert.deepStrictEqual(checkRoom("Cafe\u0301"), { ok: true, value: "caf\u00e9" });
});

Deno.test("checkName() counts code points after NFC normalisation", () => {
  // 64 code points as typed, 32 once composed.
  const decomposed = "e\u0301".repeat(32);
  assert.deepStrictEqual(checkName(decomposed), { ok: true, value: "\u00e9".repeat(32) });
  assert.equal(checkName("e\u0301".repeat(33)).ok, false);
});

Deno.test("checkName() keeps case while checkRoom() folds it to lower case", () => {
  assert.deepStrictEqual(checkName("Alice"), { ok: true, value: "Alice" });
  assert.deepStrictEqual(checkRoom("Lobby"), { ok: true, value: "lobby" });
  assert.deepStrictEqual(checkRoom("ÉCOLE"), { ok: true, value: "école" });
  assert.deepStrictEqual(checkRoom("ΑΘΗΝΑ"), { ok: true, value: "αθηνα" });
});

Deno.test("the default room passes the room rules unchanged", () => {
  assert.equal(DEFAULT_ROOM, "lobby");
  assert.deepStrictEqual(checkRoom(DEFAULT_ROOM), { ok: true, value: DEFAULT_ROOM });
});

Deno.test("nameKey() makes names that differ only in case collide", () => {
  assert.equal(nameKey("Alice"), nameKey("alice"));
  assert.equal(nameKey("ALICE"), nameKey("alice"));
  assert.equal(nameKey("ÉMILE"), nameKey("émile"));
});

Deno.test("nameKey() makes composed and decomposed forms collide", () => {
  assert.equal(nameKey("E\u0301mile"), nameKey("\u00e9mile"));
});

Deno.test("nameKey() keeps different names apart", () => {
  assert.notEqual(nameKey("alice"), nameKey("alicia"));
  assert.notEqual(nameKey("alice"), nameKey("alice_"));
  assert.notEqual(nameKey("émile"), nameKey("emile"));
});

/** True when some form of `a` has the skeleton of some form of `b`: what the broker refuses. */
const lookAlike = (a: string, b: string) => nameSkeletons(a).some((k) => nameSkeletons(b).includes(k));

Deno.test("nameSkeleton() maps confusables to their UTS #39 prototype, then lower-cases", () => {
  assert.equal(nameSkeleton("\u0430lice"), "alice", "Cyrillic а");
  assert.equal(nameSkeleton("\u0251lice"), "alice", "Latin alpha U+0251");
  assert.equal(nameSkeleton("a\u029fice"), "alice", "small capital L U+029F (the small-capitals supplement)");
  assert.equal(nameSkeleton("\u0441arol"), "carol", "Cyrillic с");
  assert.equal(nameSkeleton("a1ice"), "alice", "1 reads as l");
  assert.equal(nameSkeleton("AIice"), "alice", "a capital I reads as l");
  assert.equal(nameSkeleton("b0b"), "bob", "0 reads as O");
  assert.equal(nameSkeleton("mike"), nameSkeleton("rnike"), "m reads as rn");
});

Deno.test("nameSkeleton() works on the compatibility decomposition: fullwidth and styled letters fold", () => {
  assert.equal(nameSkeleton("\uff43\uff41\uff52\uff4f\uff4c"), "carol", "fullwidth");
  assert.equal(nameSkeleton("\u{1d4b6}\u{1d4c1}\u{1d4be}\u{1d4b8}\u212f"), "alice", "mathematical script");
});

Deno.test("nameSkeleton() is stable: the skeleton of a skeleton is itself", () => {
  for (
    const name of [
      "alice",
      "ALICE",
      "\u0430lice",
      "a\u029fice",
      "mike",
      "\u00e9mile",
      "Наташа",
      "张伟",
      "b0b",
    ]
  ) {
    const k = nameSkeleton(name);
    assert.equal(nameSkeleton(k), k, name);
  }
});

Deno.test("look-alikes: every case form counts, since names are compared without case", () => {
  for (
    const [a, b] of [["al1ce", "alice"], ["ALlCE", "alice"], ["\u0421AROL", "carol"], ["ALICE", "\u0430lice"]]
  ) {
    assert.ok(lookAlike(a, b), `${a} ~ ${b}`);
  }
  // Distinct by UTS #39: a dot, an accent, another letter show; ß is not a case form of SS here.
  for (
    const [a, b] of [["a.lice", "alice"], ["\u00e9ve", "eve"], ["alicia", "alice"], [
      "stra\u00dfe",
      "strasse",
    ]]
  ) {
    assert.ok(!lookAlike(a, b), `${a} !~ ${b}`);
  }
});

Deno.test("nameSkeleton() skips normalising ASCII and still gives what the full UTS #39 steps give", () => {
  const map = new Map([...Object.entries(SMALL_CAPITALS), ...Object.entries(CONFUSABLES)]);
  // The steps as the rule states them, normalising every round.
  const reference = (name: string) => {
    let s = name;
    for (let round = 0; round < 3; round++) {
      let mapped = "";
      for (const ch of s.normalize("NFKD")) mapped += map.get(ch) ?? ch;
      const next = mapped.normalize("NFD").toLowerCase();
      if (next === s) break;
      s = next;
    }
    return s;
  };
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
  for (let i = 0; i < printable.length; i++) {
    const name = printable.slice(i, i + 8) + printable[(i * 7) % 95];
    assert.equal(nameSkeleton(name), reference(name), JSON.stringify(name));
  }
  for (const name of ["alice", "AIice", "a1ice", "rn", "I0O", "\u0430lice", "Émile", "ﬁnn"]) {
    assert.equal(nameSkeleton(name), reference(name), name);
  }
});

Deno.test("nameSkeletons() answers a name it has seen from memory, with a list no caller can change", () => {
  const first = nameSkeletons("Memo_Alice");
  const again = nameSkeletons("Memo_Alice");
  assert.equal(again, first, "the same list, not a new one");
  assert.deepEqual([...again], [...new Set(["Memo_Alice", "memo_alice", "MEMO_ALICE"].map(nameSkeleton))]);
  assert.throws(() => (again as string[]).push("x"), TypeError);
  // Many other names later, it is computed again, to the same skeletons.
  for (let i = 0; i < 5000; i++) nameSkeletons(`n${i}`);
  const later = nameSkeletons("Memo_Alice");
  assert.notEqual(later, first);
  assert.deepEqual([...later], [...first]);
});

Deno.test("nameSkeleton() of an ASCII name, by its table of characters, is the skeleton its rounds give", () => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i));
  const names = [...printable];
  for (const a of printable) for (const b of printable) names.push(a + b);
  // Longer ones, where a character's prototype is several characters ("m" reads as "rn") among others.
  let seed = 7;
  for (let i = 0; i < 3000; i++) {
    let name = "";
    for (let n = 3 + (i % 10); n > 0; n--) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      name += printable[seed % 95];
    }
    names.push(name);
  }
  for (const name of names) assert.equal(nameSkeleton(name), skeletonByRounds(name), JSON.stringify(name));
  assert.equal(nameSkeleton("AIice"), "alice");
  assert.equal(nameSkeleton("rnary"), nameSkeleton("mary"));
});
