/**
 * A protocol client on a bare TCP socket, for e2e tests that must send
 * what `chat join` never would: garbage, malformed frames, resends, or
 * nothing at all. It keeps every byte and every decoded message it receives.
 *
 * @module
 */

import {
  type ClientMessage,
  decodeServerMessage,
  encodeMessage,
  FrameDecoder,
  type HelloExtensions,
  MAX_FRAME_CEILING,
  PROTOCOL_VERSION,
  ProtocolError,
  type ServerMessage,
  type Welcome,
} from "../../src/protocol/mod.ts";
import { Changes, tail, WAIT_MS, waitFor } from "./deadline.ts";

type MessageOf<K extends ServerMessage["type"]> = Extract<ServerMessage, { type: K }>;

export class RawClient implements AsyncDisposable {
  readonly label: string;
  /** Every message decoded from the server, in order. */
  readonly messages: ServerMessage[] = [];
  readonly changes = new Changes();
  /** Set when the bytes stopped forming frames (e.g. a text line instead of a frame). */
  decodeError: ProtocolError | null = null;
  /** Set when reading failed rather than reaching end of stream (e.g. a reset). */
  readError: Error | null = null;
  readonly #conn: Deno.TcpConn;
  readonly #chunks: Uint8Array[] = [];
  readonly #decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
  readonly #pump: Promise<void>;
  #ended = false;
  #cursor = 0;

  private constructor(conn: Deno.TcpConn, label: string) {
    this.#conn = conn;
    this.label = label;
    this.#pump = this.#read();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number, label = "raw client"): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawClient(conn, label);
  }

  /** True once the server closed the connection (or reading failed). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Every byte received so far. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  /** Every byte received so far, as UTF-8 text. */
  text(): string {
    return new TextDecoder().decode(this.bytes());
  }

  describe(): string {
    const state = this.#ended ? ` (closed${this.readError ? `: ${this.readError.message}` : ""})` : "";
    const shown = this.messages.map((m) => JSON.stringify(m));
    if (this.decodeError) {
      shown.push(`undecodable (${this.decodeError.message}): ${JSON.stringify(this.text().slice(0, 300))}`);
    }
    return `${this.label}${state}:\n${tail(shown)}`;
  }

  /** Writes every byte of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Encodes and writes one message. */
  send(msg: ClientMessage): Promise<void> {
    return this.write(encodeMessage(msg));
  }

  /** Sends HELLO (with `extensions`: a password, features) and waits for the WELCOME and every room's members. */
  async handshake(name: string, rooms: string[] = [], extensions: HelloExtensions = {}): Promise<Welcome> {
    await this.send({ type: "hello", version: PROTOCOL_VERSION, name, rooms, extensions: [], ...extensions });
    const welcome = await this.next("welcome");
    for (const room of welcome.rooms) await this.next("members", (m) => m.room === room && !m.more);
    return welcome;
  }

  /**
   * Waits for the next message of `type` matching `match` after the one the
   * previous call returned.
   */
  async next<K extends ServerMessage["type"]>(
    type: K,
    match: (m: MessageOf<K>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<MessageOf<K>> {
    const index = await waitFor(
      this,
      () => {
        for (let i = this.#cursor; i < this.messages.length; i++) {
          const m = this.messages[i];
          if (m.type === type && match(m as MessageOf<K>)) return i;
        }
        return undefined;
      },
      `a ${type.toUpperCase()} matching ${match} on ${this.label}`,
      timeoutMs,
    );
    this.#cursor = index + 1;
    return this.messages[index] as MessageOf<K>;
  }

  /** Waits until the server closes the connection. */
  async closed(timeoutMs = WAIT_MS): Promise<void> {
    // `check` runs before the "ended" test in waitFor, so the end itself is a success here.
    await waitFor(this, () => this.#ended || undefined, `the server to close ${this.label}`, timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.#pump;
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        const chunk = buf.slice(0, n);
        this.#chunks.push(chunk);
        if (!this.decodeError) {
          try {
            for (const frame of this.#decoder.push(chunk)) this.messages.push(decodeServerMessage(frame));
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
            this.decodeError = err;
          }
        }
        this.changes.notify();
      }
    } catch (err) {
      // A reset, or our own close() interrupting the read.
      this.readError = err as Error;
    } finally {
      this.#ended = true;
      this.changes.notify();
    }
  }
}
