/**
 * The broker's view of a connection and of a room. `link` is whatever the
 * network layer attaches (its connection object); the broker only carries it.
 *
 * @module
 */

export type SessionState = "handshake" | "ready" | "closed";

export class Session<L> {
  readonly id: number;
  readonly link: L;
  /** Remote address, for logs. */
  readonly address: string;
  state: SessionState = "handshake";
  /** Registered name (NFC), set by the handshake. */
  name = "";
  /** Case-folded name: the key for uniqueness and dedupe. */
  key = "";
  readonly rooms = new Set<Room<L>>();
  readonly connectedAt: number;
  /** Last time any frame arrived from this peer. */
  lastSeen: number;

  constructor(id: number, link: L, address: string, now: number) {
    this.id = id;
    this.link = link;
    this.address = address;
    this.connectedAt = now;
    this.lastSeen = now;
  }
}

export class Room<L> {
  readonly name: string;
  readonly members = new Set<Session<L>>();

  constructor(name: string) {
    this.name = name;
  }
}
