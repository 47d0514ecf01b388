import assert from "node:assert/strict";
import {
  HeadParser,
  HttpError,
  listOf,
  MAX_HEAD_BYTES,
  MAX_HEADERS,
  responseHead,
  sniffHttp,
} from "../../src/net/http.ts";
import { sniffHello } from "../../src/protocol/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("sniffHttp() says yes to every method with its space, more to a start of one, no to anything else", () => {
  for (const m of ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"]) {
    assert.equal(sniffHttp(enc(`${m} /`)), "yes", m);
    assert.equal(sniffHttp(enc(m)), "more", m);
  }
  assert.equal(sniffHttp(enc("G")), "more");
  assert.equal(sniffHttp(enc("")), "more");
  assert.equal(sniffHttp(enc("GETX /")), "no");
  assert.equal(sniffHttp(enc("get /")), "no", "methods are case-sensitive");
  assert.equal(sniffHttp(enc("hello\r\n")), "no");
  assert.equal(sniffHttp(enc("PRI * HTTP/2.0")), "no", "an HTTP/2 preface is not served");
  assert.equal(sniffHttp(new Uint8Array([0x16, 3, 1])), "no", "a TLS ClientHello");
  assert.equal(sniffHttp(new Uint8Array([0, 0, 0, 9, 1])), "no", "a chat HELLO");
});

Deno.test("sniffHttp() decides within 8 bytes, and a chat HELLO never reads as HTTP", () => {
  for (const line of ["OPTIONS * HTTP/1.1", "CONNECT h:1 HTTP/1.1", "XXXXXXXXX"]) {
    assert.notEqual(sniffHttp(enc(line).subarray(0, 8)), "more", line);
  }
  // Every request method starts with a byte above what sniffHello accepts first: the two sniffs never both match.
  assert.equal(sniffHello(enc("GET / HT")), "no");
});

Deno.test("HeadParser.push() parses a request head and returns the bytes after it", () => {
  const parser = new HeadParser();
  const got = parser.push(enc("GET /app.js?v=2 HTTP/1.1\r\nHost: a:1\r\nAccept-Encoding: gzip\r\n\r\nNEXT"));
  assert.ok(got);
  assert.equal(got.request.method, "GET");
  assert.equal(got.request.target, "/app.js?v=2");
  assert.equal(got.request.path, "/app.js");
  assert.equal(got.request.minor, 1);
  assert.equal(got.request.headers.get("host"), "a:1");
  assert.equal(got.request.headers.get("accept-encoding"), "gzip");
  assert.equal(new TextDecoder().decode(got.rest), "NEXT");
});

Deno.test("HeadParser.push() finds the head cut at every offset, and byte by byte", () => {
  const text = "GET / HTTP/1.0\r\nHost: x\r\nX-A:  spaced value \t\r\n\r\nrest";
  const bytes = enc(text);
  for (let cut = 0; cut <= bytes.byteLength; cut++) {
    const parser = new HeadParser();
    let got = parser.push(bytes.subarray(0, cut));
    // Done after the first piece: the second is not the parser's, and follows its rest.
    let after = got === null ? "" : new TextDecoder().decode(bytes.subarray(cut));
    if (got === null) got = parser.push(bytes.subarray(cut));
    assert.ok(got, `cut at ${cut}`);
    assert.equal(got.request.headers.get("x-a"), "spaced value", `cut at ${cut}`);
    assert.equal(got.request.minor, 0);
    after = new TextDecoder().decode(got.rest) + after;
    assert.equal(after, "rest", `cut at ${cut}`);
  }
  const parser = new HeadParser();
  let got = null;
  for (let i = 0; i < bytes.byteLength && got === null; i++) got = parser.push(bytes.subarray(i, i + 1));
  assert.equal(got?.request.path, "/");
});

Deno.test("HeadParser joins repeated header fields and reads an absolute-form target", () => {
  const got = new HeadParser().push(
    enc("GET http://h:1/ws?x HTTP/1.1\r\nHost: h:1\r\nConnection: keep-alive\r\nconnection: Upgrade\r\n\r\n"),
  );
  assert.equal(got?.request.path, "/ws");
  assert.equal(got?.request.headers.get("connection"), "keep-alive, Upgrade");
  assert.deepEqual(listOf(got?.request.headers.get("connection")), ["keep-alive", "upgrade"]);
});

function refusal(text: string | Uint8Array): HttpError {
  try {
    const parser = new HeadParser();
    const got = parser.push(typeof text === "string" ? enc(text) : text);
    throw new Error(`parsed: ${JSON.stringify(got?.request)}`);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return err;
  }
}

Deno.test("HeadParser refuses malformed heads with 400, other versions with 505", () => {
  const cases: Array<[string, number]> = [
    ["GET /\r\n\r\n", 400],
    ["GET  / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1 \r\n\r\n", 400],
    ["G(T / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\n\r\n", 505],
    ["GET / HTTX/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nBad name: x\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nName : x\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA: \x00\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["GET /a b HTTP/1.1\r\n\r\n", 400],
  ];
  for (const [text, status] of cases) assert.equal(refusal(text).status, status, JSON.stringify(text));
});

Deno.test("HeadParser refuses a head past MAX_HEAD_BYTES with 431, without buffering past the limit", () => {
  const big = enc(`GET / HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD_BYTES)}\r\n\r\n`);
  assert.equal(refusal(big).status, 431);
  // Fed in small pieces, the refusal comes at the limit, not at the end of the input.
  const parser = new HeadParser();
  let fed = 0;
  assert.throws(() => {
    for (; fed < big.byteLength; fed += 100) parser.push(big.subarray(fed, fed + 100));
  }, (err) => err instanceof HttpError && err.status === 431);
  assert.ok(fed <= MAX_HEAD_BYTES, `refused after ${fed} bytes`);
  // A head of exactly the limit is fine.
  const head = "GET / HTTP/1.1\r\nX: ";
  const exact = enc(`${head}${"b".repeat(MAX_HEAD_BYTES - head.length - 4)}\r\n\r\n`);
  assert.equal(exact.byteLength, MAX_HEAD_BYTES);
  assert.ok(new HeadParser().push(exact));
});

Deno.test("HeadParser refuses more than MAX_HEADERS header fields with 431", () => {
  const fields = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `X-${i}: v\r\n`).join("");
  assert.equal(refusal(`GET / HTTP/1.1\r\n${fields}\r\n`).status, 431);
  const ok = Array.from({ length: MAX_HEADERS }, (_, i) => `X-${i}: v\r\n`).join("");
  assert.ok(new HeadParser().push(enc(`GET / HTTP/1.1\r\n${ok}\r\n`)));
});

Deno.test("HeadParser keeps a field's bytes as Latin-1 (obs-text), byte for byte", () => {
  const bytes = new Uint8Array([...enc("GET / HTTP/1.1\r\nX: "), 0xe9, 0xff, ...enc("\r\n\r\n")]);
  assert.equal(new HeadParser().push(bytes)?.request.headers.get("x"), "\u00e9\u00ff");
});

Deno.test("responseHead() writes the status line and fields, and refuses a value with a line break", () => {
  assert.equal(
    new TextDecoder().decode(responseHead(404, [["A", "b"], ["C", "d e"]])),
    "HTTP/1.1 404 Not Found\r\nA: b\r\nC: d e\r\n\r\n",
  );
  assert.throws(() => responseHead(200, [["Location", "x\r\nSet-Cookie: y"]]), TypeError);
});
