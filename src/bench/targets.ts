/**
 * Adapters between the generator and each server it can drive: our binary
 * protocol v1, Redis pub/sub over RESP, NATS core pub/sub, and the naive
 * line chat of bench/peers/naive.mjs. An endpoint is one connection: it joins a room,
 * counts deliveries from the raw bytes (no decoding on the hot path), counts
 * acknowledgements for its sender and encodes what that sender sends.
 *
 * @module
 */

import {
  decodeServerMessage,
  encodeMessage,
  FrameType,
  MAX_FRAME_CEILING,
  MessageFlags,
  PROTOCOL_VERSION,
  utf8Length,
} from "../protocol/mod.ts";
import type { Target } from "./config.ts";
import type { Meter } from "./meter.ts";
import {
  concat,
  FrameSplitter,
  LineSplitter,
  NatsSplitter,
  respCommand,
  RespSplitter,
  type Splitter,
  startsWith,
  type UnitSink,
} from "./split.ts";
import { readSender, readStamp } from "./stamp.ts";
import { NodeWire } from "./node_wire.ts";
import { type Link, Wire, type WireHandler } from "./wire.ts";

/** Where and how to open one endpoint. */
export interface EndpointOptions {
  host: string;
  port: number;
  /** User name (chat) or label: unique per run. */
  name: string;
  room: string;
  /** Its deliveries count toward the run's totals. */
  counted: boolean;
  /** Its deliveries are timed (latency is sampled on a subset of receivers). */
  sampled: boolean;
  /** Index of the sender that sends on it, or -1. */
  senderIndex: number;
  meter: Meter;
  /** Read buffer size in bytes. */
  bufferSize: number;
  /** Loopback address to connect from (src/bench/node_wire.ts); null: the kernel picks. */
  localAddress: string | null;
}

/** One connection, ready once its handshake and join are done. */
export abstract class Endpoint implements WireHandler, UnitSink {
  readonly name: string;
  readonly counted: boolean;
  readonly sampled: boolean;
  /** Index of the sender using this endpoint, or -1. */
  senderIndex: number;
  /** Acknowledgements seen for messages sent on this endpoint. */
  acks = 0;
  /** Called after a read that brought acknowledgements. */
  onAck: (() => void) | null = null;
  /** Resolves once joined; rejects if the connection fails first. */
  readonly ready: Promise<void>;
  protected readonly meter: Meter;
  protected abstract readonly splitter: Splitter;
  protected now = 0;
  #wire: Link | null = null;
  /** Deliveries counted in the read being handled. */
  #deliveries = 0;
  /** Bytes of heartbeat frames in the read being handled. */
  #beatBytes = 0;
  #isReady = false;
  #closing = false;
  #resolve!: () => void;
  #reject!: (err: Error) => void;

  constructor(o: EndpointOptions) {
    this.name = o.name;
    this.counted = o.counted;
    this.sampled = o.sampled;
    this.senderIndex = o.senderIndex;
    this.meter = o.meter;
    this.ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Nobody may await `ready` if the connect itself fails; that is reported through the connect promise.
    this.ready.catch(() => {});
  }

  /** Connects and sends the join; `ready` says when it is done. */
  async open(o: EndpointOptions): Promise<void> {
    this.#wire = o.localAddress === null
      ? await Wire.connect(o.host, o.port, o.bufferSize, this)
      : await NodeWire.connect(o.host, o.port, o.localAddress, this);
    this.#wire.write(this.joinBytes(o.room));
  }

  /** What this endpoint sends first (HELLO, SUBSCRIBE, a room line). */
  protected abstract joinBytes(room: string): Uint8Array;

  /** One message to send, encoded for this target. */
  abstract messageBytes(id: number, room: string, text: string): Uint8Array;

  /** Sends already encoded messages in one write. */
  sendAll(frames: Uint8Array[]): void {
    this.#wire?.write(concat(frames));
  }

  protected write(bytes: Uint8Array): void {
    this.#wire?.write(bytes);
  }

  protected joined(): void {
    if (this.#isReady) return;
    this.#isReady = true;
    this.#resolve();
  }

  /** Counts one delivery whose text starts at `buf[textAt]` (added to the meter once per read). */
  protected delivery(buf: Uint8Array, textAt: number): void {
    if (!this.counted) return;
    this.#deliveries++;
    if (this.sampled) this.meter.latency.record((this.now - readStamp(buf, textAt)) * 1000);
  }

  /** The unit at [start, end) is a heartbeat (a PING): a read of nothing else is not news. */
  protected beat(start: number, end: number): void {
    this.#beatBytes += end - start;
  }

  /** A fatal problem reported by the server on this connection. */
  protected fail(message: string): void {
    this.meter.error(`${this.name}: ${message}`);
    if (!this.#isReady) this.#reject(new Error(`${this.name}: ${message}`));
  }

  chunk(bytes: Uint8Array, now: number): void {
    this.now = now;
    const m = this.meter;
    m.bytesIn += bytes.byteLength;
    if (this.counted) m.receiverReads++;
    const acks = this.acks;
    this.#beatBytes = 0;
    try {
      this.splitter.push(bytes, this);
    } catch (err) {
      this.fail(`unreadable stream: ${(err as Error).message}`);
      this.close();
      return;
    } finally {
      if (this.#deliveries > 0) {
        m.delivered += this.#deliveries;
        m.lastDeliveryAt = now;
        this.#deliveries = 0;
      }
      if (this.#beatBytes !== bytes.byteLength) m.lastByteAt = now;
    }
    if (this.acks !== acks && this.onAck) this.onAck();
    if (m.blocked) m.checkLag();
  }

  abstract unit(buf: Uint8Array, start: number, end: number): void;

  end(err: Error | null): void {
    if (this.#closing) return;
    const what = err ? `connection failed: ${err.message}` : "the server closed the connection";
    this.meter.error(`${this.name}: ${what}`);
    if (!this.#isReady) this.#reject(new Error(`${this.name}: ${what}`));
  }

  /** Closes the connection; from now on its end is not an error. */
  close(): void {
    this.#closing = true;
    this.#wire?.close();
  }

  /** Resolves when the read loop has stopped. */
  get done(): Promise<void> {
    return this.#wire?.done ?? Promise.resolve();
  }
}

/** The chat binary protocol v1: HELLO into one room, MESSAGE deliveries, ACKs, PING answered with PONG. */
export class ChatEndpoint extends Endpoint {
  protected readonly splitter = new FrameSplitter(MAX_FRAME_CEILING);

  protected joinBytes(room: string): Uint8Array {
    return encodeMessage({
      type: "hello",
      version: PROTOCOL_VERSION,
      name: this.name,
      rooms: [room],
      extensions: [],
    });
  }

  messageBytes(id: number, room: string, text: string): Uint8Array {
    return encodeMessage({ type: "send", id, room, flags: 0, text });
  }

  unit(buf: Uint8Array, start: number, end: number): void {
    const type = buf[start + 4];
    if (type === FrameType.MESSAGE) {
      // room:str8 | seq:u64 | ts:u64 | flags:u8 | from:str8 | text:str32
      const flagsAt = start + 5 + 1 + buf[start + 5] + 16;
      if ((buf[flagsAt] & MessageFlags.HISTORY) !== 0) return;
      this.delivery(buf, flagsAt + 2 + buf[flagsAt + 1] + 4);
    } else if (type === FrameType.ACK) {
      this.acks++;
    } else if (type === FrameType.PING) {
      // The server drops a peer silent for its timeout: echo the token right away.
      this.beat(start, end);
      const pong = buf.slice(start, end);
      pong[4] = FrameType.PONG;
      this.write(pong);
    } else if (type === FrameType.WELCOME) {
      this.joined();
    } else if (type === FrameType.ERROR) {
      const msg = decodeServerMessage({ type, payload: buf.subarray(start + 5, end) });
      if (msg.type === "error") {
        this.fail(`${msg.fatal ? "fatal " : ""}error ${msg.code}: ${msg.message}`);
        // A refused SEND still answers its window slot.
        if (!msg.fatal && msg.ref !== 0) this.acks++;
      }
    }
  }
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const PUBLISH_PREFIX = encoder.encode("*3\r\n$7\r\nPUBLISH\r\n");
const SUBSCRIBE_REPLY = encoder.encode("*3\r\n$9\r\nsubscribe\r\n");

/**
 * Redis pub/sub: a receiver SUBSCRIBEs to the room's channel; a sender has
 * its own connection (a subscribed connection cannot publish) and counts
 * PUBLISH replies as acknowledgements.
 */
export class RedisEndpoint extends Endpoint {
  protected readonly splitter = new RespSplitter();
  readonly #publisher: boolean;

  constructor(o: EndpointOptions, publisher: boolean) {
    super(o);
    this.#publisher = publisher;
  }

  protected joinBytes(room: string): Uint8Array {
    return this.#publisher ? respCommand("PING") : respCommand("SUBSCRIBE", room);
  }

  messageBytes(_id: number, room: string, text: string): Uint8Array {
    const t = encoder.encode(text);
    return concat([
      PUBLISH_PREFIX,
      encoder.encode(`$${utf8Length(room)}\r\n${room}\r\n$${t.byteLength}\r\n`),
      t,
      CRLF,
    ]);
  }

  unit(buf: Uint8Array, start: number, end: number): void {
    const kind = buf[start];
    if (kind === 0x2a) { // '*': a push
      const payload = this.splitter.payloadAt;
      if (payload >= 0) this.delivery(buf, payload);
      else if (startsWith(buf, start, SUBSCRIBE_REPLY)) this.joined();
    } else if (kind === 0x3a) { // ':' a PUBLISH reply (how many subscribers it reached)
      this.acks++;
    } else if (kind === 0x2b) { // '+PONG': the publisher's handshake
      this.joined();
    } else if (kind === 0x2d) { // '-ERR ...'
      this.fail(new TextDecoder().decode(buf.subarray(start + 1, end - 2)));
      if (this.#publisher) this.acks++;
    }
  }
}

/**
 * The naive line chat: the first line names the room and is answered with
 * one line; every later line is a message, echoed to everyone in the room
 * (the sender included, which is its acknowledgement).
 */
export class NaiveEndpoint extends Endpoint {
  protected readonly splitter = new LineSplitter();
  #greeted = false;

  protected joinBytes(room: string): Uint8Array {
    return encoder.encode(`${room}\n`);
  }

  messageBytes(_id: number, _room: string, text: string): Uint8Array {
    return encoder.encode(`${text}\n`);
  }

  unit(buf: Uint8Array, start: number): void {
    if (!this.#greeted) {
      this.#greeted = true;
      this.joined();
      return;
    }
    if (this.senderIndex >= 0 && readSender(buf, start) === this.senderIndex) this.acks++;
    this.delivery(buf, start);
  }
}

const NATS_PING = encoder.encode("PING\r\n");
const NATS_PONG = encoder.encode("PONG\r\n");
const NATS_PONG_LINE = encoder.encode("PONG");
const NATS_PING_LINE = encoder.encode("PING");
const NATS_ERR = encoder.encode("-ERR");

/**
 * NATS core pub/sub (nats-server): a receiver SUBscribes to the room's
 * subject; a sender PUBlishes to it, on its own connection or (chatty) on a
 * subscribed one, which then gets its own messages back, as in our chat.
 * NATS acknowledges no single message, so each batch a sender writes ends
 * with a PING: the server answers PONG once it has handled every PUB before
 * it, and that PONG acknowledges the batch. The first PONG, after the
 * CONNECT and SUB, says the endpoint has joined.
 */
export class NatsEndpoint extends Endpoint {
  protected readonly splitter = new NatsSplitter();
  readonly #subscribe: boolean;
  /** Messages in each batch whose PONG has not come yet, oldest first. */
  #batches: number[] = [];
  #joinedYet = false;

  constructor(o: EndpointOptions, subscribe: boolean) {
    super(o);
    this.#subscribe = subscribe;
  }

  protected joinBytes(room: string): Uint8Array {
    const connect = `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, name: this.name })}\r\n`;
    return encoder.encode(`${connect}${this.#subscribe ? `SUB ${room} 1\r\n` : ""}PING\r\n`);
  }

  messageBytes(_id: number, room: string, text: string): Uint8Array {
    const t = encoder.encode(text);
    return concat([encoder.encode(`PUB ${room} ${t.byteLength}\r\n`), t, CRLF]);
  }

  override sendAll(frames: Uint8Array[]): void {
    this.#batches.push(frames.length);
    super.sendAll([...frames, NATS_PING]);
  }

  unit(buf: Uint8Array, start: number, end: number): void {
    const payload = this.splitter.payloadAt;
    if (payload >= 0) {
      this.delivery(buf, payload);
    } else if (startsWith(buf, start, NATS_PONG_LINE)) {
      if (!this.#joinedYet) {
        this.#joinedYet = true;
        this.joined();
      } else {
        this.acks += this.#batches.shift() ?? 0;
      }
    } else if (startsWith(buf, start, NATS_PING_LINE)) {
      this.beat(start, end);
      this.write(NATS_PONG);
    } else if (startsWith(buf, start, NATS_ERR)) {
      this.fail(new TextDecoder().decode(buf.subarray(start + 1, end - 2)));
    }
    // INFO and +OK need no answer.
  }
}

/** Opens endpoints of one target. */
export interface Adapter {
  readonly target: Target;
  /** A receiving connection joined to `o.room`; resolves once joined. */
  receiver(o: EndpointOptions): Promise<Endpoint>;
  /** The endpoint sender `o.senderIndex` sends on: `shared` (its client's) when the target allows. */
  sender(o: EndpointOptions, shared: Endpoint | null): Promise<Endpoint>;
}

async function opened(e: Endpoint, o: EndpointOptions): Promise<Endpoint> {
  await e.open(o);
  try {
    await e.ready;
  } catch (err) {
    e.close();
    throw err;
  }
  return e;
}

/** The adapter for `target`. */
export function adapterFor(target: Target): Adapter {
  switch (target) {
    case "chat":
      return {
        target,
        receiver: (o) => opened(new ChatEndpoint(o), o),
        sender: (o, shared) => shared ? reuse(shared, o) : opened(new ChatEndpoint(o), o),
      };
    case "naive":
      return {
        target,
        receiver: (o) => opened(new NaiveEndpoint(o), o),
        sender: (o, shared) => shared ? reuse(shared, o) : opened(new NaiveEndpoint(o), o),
      };
    case "redis":
      return {
        target,
        receiver: (o) => opened(new RedisEndpoint(o, false), o),
        sender: (o) => opened(new RedisEndpoint(o, true), o),
      };
    case "nats":
      return {
        target,
        receiver: (o) => opened(new NatsEndpoint(o, true), o),
        sender: (o, shared) => shared ? reuse(shared, o) : opened(new NatsEndpoint(o, false), o),
      };
    default: {
      const never: never = target;
      throw new TypeError(`unknown target ${never}`);
    }
  }
}

function reuse(shared: Endpoint, o: EndpointOptions): Promise<Endpoint> {
  shared.senderIndex = o.senderIndex;
  return Promise.resolve(shared);
}
