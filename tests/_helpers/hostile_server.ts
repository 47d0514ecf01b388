/**
 * A fake chat server on 127.0.0.1 that speaks just enough of the protocol to
 * feed a real client hostile text: escape sequences, C0, DEL, C1 and bidi
 * controls in every string field a client shows (names, rooms, texts,
 * notices, presence reasons, error codes and messages), or a non-chat
 * greeting. For tests that a client never hands such text to a terminal.
 *
 * @module
 */

import {
  decodeClientMessage,
  encodeMessage,
  FrameDecoder,
  MAX_FRAME_CEILING,
  type Message,
  MessageFlags,
  PROTOCOL_VERSION,
} from "../../src/protocol/mod.ts";

/**
 * Hostile text: an OSC title change, a screen clear, SGR, a raw BEL, CR, DEL,
 * the one-byte C1 CSI (U+009B) and NEL (U+0085), a bidi override and isolate,
 * a right-to-left mark, a line separator and a newline that would forge a line.
 */
export const HOSTILE =
  "pwn\x1b]0;owned\x07\x1b[2J\x1b[31mred\rX\x7f\u009b2J\u0085\u202eevil\u2066i\u2069\u200f\u2028\nforged";

/** A short hostile string, for fields where the client expects a word. */
export const HOSTILE_WORD = "w\x1b[1m\u009bq\u202e";

/** What the server does with each connection. */
export type Behaviour =
  /** Answers every HELLO with a fatal hostile ERROR before any WELCOME. */
  | "refuse"
  /** Greets every connection with a hostile non-chat banner and closes it. */
  | "banner"
  /**
   * The first connection gets a WELCOME and hostile traffic, then (`fatal`
   * "now") a fatal hostile ERROR at once, or (`fatal` "after-send") a
   * hostile refusal of the first SEND followed by the fatal ERROR. Later
   * connections are refused as with "refuse", so a client that reconnects
   * gives up.
   */
  | { fatal: "now" | "after-send" };

/** The fatal ERROR every behaviour ends with. */
function fatalError(): Message {
  return { type: "error", fatal: true, code: `CODE${HOSTILE_WORD}`, ref: 0, message: HOSTILE };
}

/** The WELCOME and the hostile traffic after it, for a client that asked for `room`. */
function chatter(name: string, room: string): Message[] {
  const now = Date.now();
  return [
    {
      type: "welcome",
      version: PROTOCOL_VERSION,
      name,
      heartbeatMs: 60_000,
      timeoutMs: 120_000,
      maxFrame: 65536,
      maxText: 4096,
      rooms: [room],
      extensions: [],
    },
    {
      type: "members",
      room,
      more: false,
      names: [name, `m${HOSTILE_WORD}allory`, "\u202eevil", "bob\u009b"],
    },
    { type: "notice", kind: "motd", text: HOSTILE },
    { type: "notice", kind: `k${HOSTILE_WORD}`, text: HOSTILE },
    { type: "presence", room, event: "join", name: `j${HOSTILE_WORD}`, reason: "", text: "", ts: now },
    {
      type: "presence",
      room,
      event: "leave",
      name: `l${HOSTILE_WORD}`,
      reason: `r${HOSTILE_WORD}`,
      text: HOSTILE,
      ts: now,
    },
    {
      type: "presence",
      room,
      event: "nick",
      name: `n${HOSTILE_WORD}`,
      reason: "",
      text: HOSTILE_WORD,
      ts: now,
    },
    { type: "presence", room, event: "away", name: `a${HOSTILE_WORD}`, reason: "", text: HOSTILE, ts: now },
    { type: "message", room, seq: 1, ts: now, flags: 0, from: `f${HOSTILE_WORD}`, text: HOSTILE },
    {
      type: "message",
      room,
      seq: 2,
      ts: now,
      flags: MessageFlags.ACTION,
      from: `f${HOSTILE_WORD}`,
      text: HOSTILE,
    },
    { type: "direct", from: `d${HOSTILE_WORD}`, to: name, ts: now, flags: 0, text: HOSTILE },
    { type: "error", fatal: false, code: `SOFT${HOSTILE_WORD}`, ref: 0, message: HOSTILE },
  ];
}

export class HostileServer implements AsyncDisposable {
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #behaviour: Behaviour;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #serving: Promise<void>;
  readonly #handlers = new Set<Promise<void>>();
  #accepted = 0;

  constructor(behaviour: Behaviour) {
    this.#behaviour = behaviour;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#serving = this.#serve();
  }

  async #serve(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.#conns.add(conn);
      const first = this.#accepted++ === 0;
      const handler = this.#handle(conn, first).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        this.#handlers.delete(handler);
        try {
          conn.close();
        } catch { /* closed */ }
      });
      this.#handlers.add(handler);
    }
  }

  async #write(conn: Deno.TcpConn, messages: Message[]): Promise<void> {
    for (const m of messages) {
      const bytes = encodeMessage(m);
      let off = 0;
      while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
    }
  }

  async #handle(conn: Deno.TcpConn, first: boolean): Promise<void> {
    const b = this.#behaviour;
    if (b === "banner") {
      await conn.write(new TextEncoder().encode(`SSH-2.0-${HOSTILE}\r\n`));
      return;
    }
    const decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      for (const frame of decoder.push(buf.subarray(0, n))) {
        const m = decodeClientMessage(frame);
        if (m.type === "hello") {
          if (b === "refuse" || !first) return await this.#write(conn, [fatalError()]);
          await this.#write(conn, chatter(m.name, m.rooms[0] ?? "lobby"));
          if (b.fatal === "now") return await this.#write(conn, [fatalError()]);
        } else if (m.type === "send" || m.type === "private") {
          return await this.#write(conn, [
            { type: "error", fatal: false, code: `REFUSED${HOSTILE_WORD}`, ref: m.id, message: HOSTILE },
            fatalError(),
          ]);
        }
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.#serving;
    await Promise.all(this.#handlers);
  }
}
