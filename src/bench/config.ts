/**
 * What one bench run does: the scenario presets and the validated settings
 * built from them and the user's options. Pure: the CLI passes what it
 * parsed and gets a config or the reason it is invalid.
 *
 * @module
 */

import { MAX_SENDERS, MIN_TEXT_SIZE } from "./stamp.ts";

/** Servers the generator can drive, each through its own adapter. */
export const TARGETS = ["chat", "redis", "naive", "nats"] as const;
export type Target = typeof TARGETS[number];

export const SCENARIOS = ["fanout", "chatty", "idle"] as const;
export type Scenario = typeof SCENARIOS[number];

/** The port each target listens on by default, used with --host and no --port. */
export const DEFAULT_PORTS: Readonly<Record<Target, number>> = {
  chat: 3000,
  redis: 6379,
  naive: 7000,
  nats: 4222,
};

/** The load shape: what a scenario fixes unless the user overrides it. */
export interface Load {
  /** Receiving connections. */
  clients: number;
  senders: number;
  /** Receivers and senders are spread over this many rooms, round robin. */
  rooms: number;
  /** Messages per second per sender; 0 sends as fast as the window allows. */
  rate: number;
  /** Messages a sender may have unacknowledged at once. */
  window: number;
  /** Bytes of message text. */
  size: number;
  /** Seconds of sending (idle: seconds of holding the connections open). */
  duration: number;
}

export interface Preset extends Load {
  /** Sender i sends on receiver i's connection (a chat where everyone talks), instead of its own. */
  shared: boolean;
  /** One line for --help. */
  about: string;
}

/** The scenarios of the benchmark suite (BENCHMARKS.md); every field can be overridden by a flag. */
export const PRESETS: Readonly<Record<Scenario, Readonly<Preset>>> = {
  fanout: {
    clients: 100,
    senders: 1,
    rooms: 1,
    rate: 0,
    window: 64,
    size: 100,
    duration: 5,
    shared: false,
    about: "1 room, 100 receivers, 1 sender at max rate with a bounded window, 100-byte messages",
  },
  chatty: {
    clients: 100,
    senders: 100,
    rooms: 1,
    rate: 10,
    window: 64,
    size: 100,
    duration: 5,
    shared: true,
    about: "100 clients in one room, each sending 10 msg/s and receiving everything",
  },
  idle: {
    clients: 10_000,
    senders: 0,
    rooms: 1,
    rate: 0,
    window: 1,
    size: 100,
    duration: 5,
    shared: false,
    about: "10,000 connections joined to one room, silent: connect time and server memory per connection",
  },
};

/** Upper bounds that keep a typo from exhausting the machine. */
export const LIMITS = {
  clients: 100_000,
  senders: MAX_SENDERS,
  rooms: 10_000,
  rate: 1_000_000,
  window: 100_000,
  size: 1024 * 1024,
  duration: 3600,
} as const;

/** Lower bounds: a load needs a receiver, a room, a window and a second; a text holds its send time and sender. */
export const MINIMA = {
  clients: 1,
  senders: 0,
  rooms: 1,
  rate: 0,
  window: 1,
  size: MIN_TEXT_SIZE,
  duration: 1,
} as const;

/** Everything a run needs to know. */
export interface BenchConfig extends Load {
  target: Target;
  scenario: Scenario;
  /** The first server's address (a cluster's first node). */
  host: string;
  port: number;
  /** Every server the connections are spread over, round robin: `host:port` alone, or a cluster's nodes. */
  servers: Array<{ host: string; port: number }>;
  /** Start the server as a child process (on a free loopback port) and measure it. */
  spawn: boolean;
  /** A server process to measure that the bench did not start, or null. */
  pid: number | null;
  /** With spawn and the chat target: SQLite storage in a temporary directory instead of memory. */
  durable: boolean;
  /**
   * With spawn and the chat target: chat nodes of one cluster (over a spawned
   * nats-server with JetStream) that the connections are spread over; 0 is
   * one server without NATS.
   */
  nodes: number;
  /** With spawn: extra arguments for the server. */
  serverFlags: string[];
  /**
   * Loopback source addresses the connections are spread over (127.0.0.2,
   * 127.0.0.3, ...), to pass one address's ephemeral port range; 0 lets the
   * kernel pick the source, as an ordinary client does.
   */
  sources: number;
  shared: boolean;
  json: boolean;
}

/** Most cluster nodes a bench starts: each is a process, and the machine runs the generator too. */
export const MAX_NODES = 8;

/** Most loopback source addresses a run spreads over: 127.0.0.2 to 127.0.0.254. */
export const MAX_SOURCES = 253;

/**
 * Linux's default ephemeral port range (32768-60999): the ports one source
 * address has for connections to one server, when /proc does not say.
 */
export const DEFAULT_EPHEMERAL_PORTS = 60999 - 32768 + 1;

/**
 * Share of an address's ephemeral ports a run plans to use: the rest is left
 * to other programs and to the TIME_WAIT sockets of the run before.
 */
const PORT_SHARE = 0.75;

/** Connections one source address carries: its planned share of the ephemeral ports. */
export function perSource(ephemeralPorts: number): number {
  return Math.max(1, Math.floor(ephemeralPorts * PORT_SHARE));
}

/**
 * Source addresses `connections` cannot do with fewer of: none while they fit
 * one address's share of the ports, else one per share.
 */
export function minSources(connections: number, ephemeralPorts: number): number {
  const each = perSource(ephemeralPorts);
  return connections <= each ? 0 : Math.ceil(connections / each);
}

/**
 * Share of an address's ephemeral ports the default spreading plans to use
 * once connections are bound to source addresses. A bind() before connect()
 * looks for a port no other bound socket holds, and that search slows down as
 * the range fills: 19,000 connections over 2 addresses (a third of each
 * range) took 32-44 s to connect, over 8 addresses 3.2 s, over 16 2.6 s
 * (BENCHMARKS.md, "Loud rooms and 100,000 connections"). A connect without a
 * bind (no sources) does not have this cost.
 */
const BOUND_SHARE = 1 / 16;

/**
 * The source addresses a run spreads `connections` over by default: none
 * (the kernel picks 127.0.0.1, as for any client) while they fit one
 * address's share of the ports, else enough that each carries a
 * sixteenth of its range at most (as many as there are, past that).
 */
export function sourcesFor(connections: number, ephemeralPorts: number): number {
  const need = minSources(connections, ephemeralPorts);
  if (need === 0) return 0;
  const spread = Math.ceil(connections / Math.max(1, Math.floor(ephemeralPorts * BOUND_SHARE)));
  return Math.min(MAX_SOURCES, Math.max(need, spread));
}

/**
 * The loopback address connection `i` binds before it connects, spreading
 * the connections round robin over `sources` addresses from 127.0.0.2 on; null
 * with no sources (the kernel picks). Every 127.0.0.0/8 address reaches the
 * server on 127.0.0.1, and each brings its own ephemeral ports.
 */
export function sourceAddress(i: number, sources: number): string | null {
  return sources === 0 ? null : `127.0.0.${2 + (i % sources)}`;
}

/** True for a host that names the loopback interface, where any 127.x source address reaches it. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What the user chose; an undefined field takes the scenario's value. */
export interface BenchInput extends Partial<Load> {
  target: Target;
  scenario: Scenario;
  host: string;
  port?: number;
  /** Several servers (a cluster's nodes) to spread the connections over; a port of 0 takes `port`. */
  servers?: Array<{ host: string; port: number }>;
  spawn: boolean;
  pid?: number;
  durable?: boolean;
  nodes?: number;
  serverFlags?: string[];
  /** Source addresses; undefined: as many as the connections need ({@linkcode sourcesFor}). */
  sources?: number;
  /** Ephemeral ports per source address (/proc/sys/net/ipv4/ip_local_port_range); default Linux's. */
  ephemeralPorts?: number;
  json: boolean;
}

/** Merges `input` over its scenario's preset and checks the result; returns the config or what is wrong. */
export function benchConfig(input: BenchInput): BenchConfig | { error: string } {
  const preset = PRESETS[input.scenario];
  const pick = <K extends keyof Load>(k: K): number => input[k] ?? preset[k];
  const load: Load = {
    clients: pick("clients"),
    senders: pick("senders"),
    rooms: pick("rooms"),
    rate: pick("rate"),
    window: pick("window"),
    size: pick("size"),
    duration: pick("duration"),
  };
  if (load.size < MIN_TEXT_SIZE) {
    return { error: `--size must be at least ${MIN_TEXT_SIZE} (the send time and sender are in the text)` };
  }
  for (const [k, max] of Object.entries(LIMITS) as Array<[keyof Load, number]>) {
    const v = load[k];
    const min = MINIMA[k];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      return { error: `--${k} must be an integer in ${min}..${max}, got ${v}` };
    }
  }
  if (input.scenario === "idle" && load.senders > 0) {
    return { error: "the idle scenario sends nothing: --senders must be 0" };
  }
  if (input.scenario !== "idle" && load.senders === 0) {
    return { error: `the ${input.scenario} scenario needs at least one sender` };
  }
  if (preset.shared && load.senders > load.clients) {
    return {
      error:
        `in the ${input.scenario} scenario every sender is a client: --senders ${load.senders} exceeds --clients ${load.clients}`,
    };
  }
  if (load.rooms > load.clients) {
    return { error: `--rooms ${load.rooms} exceeds --clients ${load.clients}: some rooms would be empty` };
  }
  if (input.spawn && input.pid !== undefined) {
    return { error: "--pid measures a server started elsewhere; with --spawn the bench measures its own" };
  }
  if (input.durable && !(input.spawn && input.target === "chat")) {
    return { error: "--durable applies to a chat server the bench starts: add --spawn (and --target chat)" };
  }
  if (input.nodes !== undefined) {
    if (!Number.isSafeInteger(input.nodes) || input.nodes < 1 || input.nodes > MAX_NODES) {
      return { error: `--nodes must be an integer in 1..${MAX_NODES}, got ${input.nodes}` };
    }
    if (!(input.spawn && input.target === "chat")) {
      return { error: "--nodes starts a cluster of chat servers: add --spawn (and --target chat)" };
    }
    if (input.durable) {
      return { error: "a cluster stores every message in JetStream already: drop --durable" };
    }
  }
  if ((input.serverFlags ?? []).length > 0 && !input.spawn) {
    return { error: "--server-flag applies to a server the bench starts: add --spawn" };
  }
  if (input.spawn && input.port !== undefined) {
    return { error: "--spawn picks a free port itself; drop --port" };
  }
  if (input.spawn && (input.servers?.length ?? 0) > 1) {
    return { error: "--spawn starts its own server: drop the --host list (--nodes N starts a cluster)" };
  }
  const port = input.port ?? DEFAULT_PORTS[input.target];
  const servers = input.spawn || !input.servers?.length
    ? [{ host: input.spawn ? "127.0.0.1" : input.host, port }]
    : input.servers.map((s) => ({ host: s.host, port: s.port || port }));
  const remote = servers.find((s) => !isLoopbackHost(s.host))?.host;
  const connections = connectionCount({ ...load, shared: preset.shared, target: input.target });
  const ports = input.ephemeralPorts ?? DEFAULT_EPHEMERAL_PORTS;
  let sources = input.sources;
  if (sources === undefined) {
    sources = remote === undefined ? sourcesFor(connections, ports) : 0;
  } else {
    if (!Number.isSafeInteger(sources) || sources < 0 || sources > MAX_SOURCES) {
      return { error: `--sources must be an integer in 0..${MAX_SOURCES}, got ${sources}` };
    }
    if (sources > 0 && remote !== undefined) {
      return {
        error:
          `--sources spreads connections over loopback addresses (127.0.0.2, ...), which cannot reach ${remote}: ` +
          "load a server on 127.0.0.1 (or --spawn), or drop --sources",
      };
    }
    const need = minSources(connections, ports);
    if (need > Math.max(1, sources)) {
      return {
        error: `${connections} connections need ${need} source addresses (about ${
          perSource(ports)
        } ephemeral ports each): --sources ${sources} is too few`,
      };
    }
  }
  return {
    ...load,
    target: input.target,
    scenario: input.scenario,
    host: servers[0].host,
    port: servers[0].port,
    servers,
    spawn: input.spawn,
    pid: input.pid ?? null,
    durable: input.durable ?? false,
    nodes: input.nodes ?? 0,
    serverFlags: input.serverFlags ?? [],
    sources,
    shared: preset.shared,
    json: input.json,
  };
}

/** Connections the generator opens: one per client, plus one per sender unless it shares a client's. */
export function connectionCount(c: Pick<BenchConfig, "clients" | "senders" | "shared" | "target">): number {
  // Redis cannot publish on a subscribed connection, so its senders always have their own.
  const ownSenders = !c.shared || c.target === "redis";
  return c.clients + (ownSenders ? c.senders : 0);
}

/**
 * The room of receiver or sender `i` (round robin). `tag` is per run, so two
 * benches against one server do not hear each other; every target accepts the name.
 */
export function roomName(i: number, rooms: number, tag: string): string {
  return `bench-${tag}-${i % rooms}`;
}

/** A short random tag for this run's room and user names. */
export function runTag(random: () => number = Math.random): string {
  let tag = "";
  for (let i = 0; i < 4; i++) tag += "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(random() * 36)];
  return tag;
}
