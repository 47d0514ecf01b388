import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { connDuplex, SocketConn } from "../../src/net/tls_stream.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

/** A Duplex whose readable side the test pushes and whose writes it records. */
function fakeSocket(): { socket: Duplex; written: Uint8Array[] } {
  const written: Uint8Array[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Uint8Array, _enc, callback) {
      written.push(new Uint8Array(chunk));
      callback();
    },
  });
  return { socket, written };
}

/** A Deno.Conn fake: reads come from `input` one array at a time, then EOF. */
function fakeConn(input: Uint8Array[]) {
  const written: Uint8Array[] = [];
  let closed = false;
  return {
    written,
    get closed() {
      return closed;
    },
    read(buf: Uint8Array): Promise<number | null> {
      const next = input.shift();
      if (!next) return Promise.resolve(null);
      buf.set(next);
      return Promise.resolve(next.byteLength);
    },
    write(b: Uint8Array): Promise<number> {
      // Partial writes: one byte at a time, so the adapter must loop.
      written.push(b.slice(0, 1));
      return Promise.resolve(1);
    },
    close() {
      if (closed) throw new Deno.errors.BadResource("closed twice");
      closed = true;
    },
  };
}

async function readAll(stream: Duplex): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stream) out.push(...(chunk as Uint8Array));
  return out;
}

Deno.test("SocketConn.read() hands out the socket's bytes in order, cutting chunks to the buffer, then null", async () => {
  const { socket } = fakeSocket();
  const conn = new SocketConn(socket);
  socket.push(bytes(1, 2, 3, 4, 5));
  socket.push(bytes(6));
  const buf = new Uint8Array(2);
  const seen: number[] = [];
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    seen.push(...buf.subarray(0, n));
    if (seen.length === 6) socket.push(null);
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  assert.equal(await conn.read(buf), null, "the end stays the end");
});

Deno.test("SocketConn.read() waits for data that arrives later", async () => {
  const { socket } = fakeSocket();
  const conn = new SocketConn(socket);
  const buf = new Uint8Array(8);
  const pending = conn.read(buf);
  setTimeout(() => socket.push(bytes(9, 8)), 5);
  assert.equal(await pending, 2);
  assert.deepEqual([...buf.subarray(0, 2)], [9, 8]);
});

Deno.test("SocketConn pauses its socket past the high-water mark and resumes once read", async () => {
  const { socket } = fakeSocket();
  const conn = new SocketConn(socket);
  for (let i = 0; i < 5; i++) socket.push(new Uint8Array(20 * 1024));
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(socket.isPaused(), "100 KiB unread pauses the socket");
  const buf = new Uint8Array(64 * 1024);
  let read = 0;
  while (read < 60 * 1024) read += (await conn.read(buf))!;
  assert.ok(!socket.isPaused(), "reading resumes it");
  conn.close();
});

Deno.test("SocketConn.write() resolves with the byte count once the socket has taken the bytes", async () => {
  const { socket, written } = fakeSocket();
  const conn = new SocketConn(socket);
  assert.equal(await conn.write(bytes(1, 2, 3)), 3);
  assert.deepEqual(written, [bytes(1, 2, 3)]);
});

Deno.test("SocketConn.close() fails a pending read and later reads and writes, and closes the raw connection", async () => {
  const { socket } = fakeSocket();
  let rawClosed = 0;
  const conn = new SocketConn(socket, { close: () => rawClosed++ });
  const pending = conn.read(new Uint8Array(4));
  conn.close();
  conn.close(); // twice is harmless
  await assert.rejects(pending, Deno.errors.BadResource);
  await assert.rejects(conn.read(new Uint8Array(4)), Deno.errors.BadResource);
  await assert.rejects(conn.write(bytes(1)), Deno.errors.BadResource);
  // The fake never finishes its TLS goodbye; the socket is destroyed when it ends or closes.
  socket.push(null);
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(socket.destroyed);
  assert.equal(rawClosed, 1);
});

Deno.test("SocketConn reports a socket error to the reader, after the bytes that came before it", async () => {
  const { socket } = fakeSocket();
  const conn = new SocketConn(socket);
  socket.push(bytes(7));
  const boom = new Error("boom");
  socket.destroy(boom);
  const buf = new Uint8Array(4);
  assert.equal(await conn.read(buf), 1);
  await assert.rejects(conn.read(buf), (err) => err === boom);
  assert.equal(conn.error, boom);
  await assert.rejects(conn.write(bytes(1)), (err) => err === boom);
});

Deno.test("connDuplex() delivers the bytes already read first, shows every chunk to onBytes, and ends at EOF", async () => {
  const conn = fakeConn([bytes(3, 4), bytes(5)]);
  const seen: number[] = [];
  const duplex = connDuplex(conn, bytes(1, 2), (chunk) => seen.push(...chunk));
  assert.deepEqual(await readAll(duplex), [1, 2, 3, 4, 5]);
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
});

Deno.test("connDuplex() writes every byte through partial writes, and closes the connection when destroyed", async () => {
  const conn = fakeConn([]);
  const duplex = connDuplex(conn);
  await new Promise<void>((resolve, reject) =>
    duplex.write(bytes(1, 2, 3), (err) => err ? reject(err) : resolve())
  );
  assert.deepEqual(conn.written.map((b) => b[0]), [1, 2, 3]);
  duplex.destroy();
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(conn.closed);
});
