import assert from "node:assert/strict";
import { probeRawConn, RawConn, rawConn, resourceId } from "../../src/net/raw_conn.ts";

/** A connected pair on 127.0.0.1: the accepted side and the dialling side. */
async function pair(): Promise<{ accepted: Deno.TcpConn; dialled: Deno.TcpConn; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dialling = Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
  const accepted = await listener.accept();
  const dialled = await dialling;
  listener.close();
  return {
    accepted,
    dialled,
    close() {
      for (const c of [accepted, dialled]) {
        try {
          c.close();
        } catch { /* closed by the test */ }
      }
    },
  };
}

async function readAll(conn: Deno.Conn, want: number): Promise<Uint8Array> {
  const out = new Uint8Array(want);
  let got = 0;
  while (got < want) {
    const n = await conn.read(out.subarray(got));
    if (n === null) throw new Error(`stream ended after ${got} of ${want} bytes`);
    got += n;
  }
  return out;
}

// The tests below drive the raw path: decided once here, as `chat serve` does at start.
await probeRawConn();

// The server's idle memory depends on this path: a runtime upgrade that hides the ops must fail here, not
// quietly cost every idle connection 1.7 KiB more.
Deno.test("rawConn takes the raw path on the pinned runtime, once the probe has seen the ops behave", async () => {
  const path = await probeRawConn();
  assert.deepEqual(path, { raw: true, why: "the runtime's socket ops behave as expected" });
  const p = await pair();
  try {
    const raw = rawConn(p.accepted);
    assert.ok(
      raw instanceof RawConn,
      "expected a RawConn: Deno[Deno.internal].core or the rid symbol is gone",
    );
    assert.equal(raw.rid, resourceId(p.accepted));
  } finally {
    p.close();
  }
});

Deno.test("RawConn reads and writes the socket both ways, and reads 0 at the end of the stream", async () => {
  const p = await pair();
  try {
    const raw = rawConn(p.accepted);
    await p.dialled.write(new TextEncoder().encode("hello"));
    const buf = new Uint8Array(16);
    let got = "";
    while (got.length < 5) {
      const n = await raw.read(buf);
      assert.ok(n, "no end of stream yet");
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.equal(got, "hello");

    const big = new Uint8Array(300_000).map((_, i) => i % 251);
    const reading = readAll(p.dialled, big.byteLength);
    let off = 0;
    while (off < big.byteLength) off += await raw.write(big.subarray(off));
    assert.deepEqual(await reading, big);

    p.dialled.close();
    assert.equal(await raw.read(buf), 0);
  } finally {
    p.close();
  }
});

Deno.test("RawConn.close() ends the peer's stream and fails a pending read, as Deno.Conn does", async () => {
  const p = await pair();
  try {
    const raw = rawConn(p.accepted);
    const pending = raw.read(new Uint8Array(16));
    raw.close();
    await assert.rejects(pending);
    assert.equal(await p.dialled.read(new Uint8Array(16)), null);
    assert.throws(() => raw.close(), Deno.errors.BadResource);
  } finally {
    p.close();
  }
});

Deno.test("probeRawConn(true) keeps the public path: rawConn hands back the TcpConn itself", async () => {
  try {
    assert.deepEqual(await probeRawConn(true), { raw: false, why: "turned off (CHAT_RAW_CONN=0)" });
    const p = await pair();
    try {
      assert.equal(rawConn(p.accepted), p.accepted);
    } finally {
      p.close();
    }
  } finally {
    await probeRawConn();
  }
});

// If the runtime ever closed a socket when its TcpConn is collected, every idle client of the server would be
// cut off at some GC. A child with --expose-gc collects the TcpConn for certain, and proves it was collected.
Deno.test("RawConn keeps the socket open after its TcpConn is garbage collected", async () => {
  const script = `
    import { probeRawConn, rawConn } from ${
    JSON.stringify(new URL("../../src/net/raw_conn.ts", import.meta.url).href)
  };
    if (!(await probeRawConn()).raw) throw new Error("no raw path");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dialled = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    let collected = false;
    const registry = new FinalizationRegistry(() => collected = true);
    const raw = await (async () => {
      const accepted = await listener.accept();
      registry.register(accepted, "tcpconn");
      return rawConn(accepted);
    })();
    for (let i = 0; i < 20 && !collected; i++) {
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    await dialled.write(new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(8);
    const n = await raw.read(buf);
    await raw.write(new Uint8Array([9]));
    const back = await dialled.read(buf);
    console.log(JSON.stringify({ collected, n, back, byte: buf[0] }));
    raw.close(); dialled.close(); listener.close();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(result, { collected: true, n: 3, back: 1, byte: 9 });
});
