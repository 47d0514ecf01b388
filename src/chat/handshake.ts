/**
 * A session's life: the handshake (checks, resume, welcome), the grace
 * period of a dropped session (a ghost keeps its name and seats in case it
 * resumes), and the end of a session, with the leave it announces.
 *
 * A HELLO is checked when it arrives; the history of its rooms is then read
 * from the log, and the checks run again when the log answers (another
 * session may have taken the name meanwhile) before the welcome is sent.
 *
 * @module
 */

import {
  checkName,
  checkRoom,
  DEFAULT_ROOM,
  ErrorCode,
  FEATURES,
  type Hello,
  hex,
  nameKey,
  PROTOCOL_VERSION,
  type ProtocolError,
  unhex,
} from "../protocol/mod.ts";
import { type CloseReason, UNCLEAN_CLOSES } from "./close.ts";
import { type Context, fatal, send, share } from "./context.ts";
import { conversationsFor, handOver, listFor } from "./conversations.ts";
import type { Effect } from "./effects.ts";
import { DEFAULT_RATE, hostOf } from "./guard.ts";
import { readPages, recentQuery } from "./history.ts";
import { banOf, banText } from "./moderation.ts";
import type { ConversationTail, Page } from "./ports.ts";
import { joinRoom, presence, shrank } from "./rooms.ts";
import { featureSet, type Room, type Session } from "./session.ts";

/** Default grace period: long enough for a reconnect after a blip, short enough that a real leave is shown promptly. */
export const DEFAULT_GRACE_MS = 5000;

/** Resume token length in bytes: 128 bits cannot be guessed. */
const TOKEN_BYTES = 16;

/** Maps a close reason to the error code sent with it, for the closes that carry one. */
const CLOSE_ERROR: Partial<Record<CloseReason, ErrorCode>> = {
  timeout: ErrorCode.TIMEOUT,
  slow_consumer: ErrorCode.SLOW_CONSUMER,
  flood: ErrorCode.RATE_LIMITED,
  shutdown: ErrorCode.SHUTTING_DOWN,
};

/** A HELLO that passed every check: what the welcome needs. */
interface Admission {
  name: string;
  key: string;
  rooms: string[];
  /** Rooms the client already has messages of, with its last seq: no recent history for them. */
  since: Map<string, number>;
  /** The session this one takes over, proven by its resume token. */
  resumed: Session | null;
  /** A transient session: it holds no name and makes no presence. */
  transient: boolean;
  /** The ghost whose seat this session takes, the server being full: its leave is announced now. */
  evict: Session | null;
  /** The resume token the HELLO presented (hex), or "". */
  presented: string;
  /** The features the HELLO listed. */
  features: ReadonlySet<string>;
  /** The name is registered and the HELLO gave its password: the session proves the name is its own. */
  proven: boolean;
}

export function hello(ctx: Context, s: Session, msg: Hello, now: number): Effect[] {
  const first = admit(ctx, s, msg, now);
  if (Array.isArray(first)) return first;
  const fresh = first.rooms.filter((r) => !first.since.has(r));
  // A client that speaks `dms` under a registered name learns its conversations right after the welcome:
  // listed in the same read, so no message stored after the list was made reaches it before the welcome.
  const list = listFor(ctx, first.key, msg.features, first.transient);
  if (fresh.length === 0 && !list) return claimThenWelcome(ctx, s, msg, first, new Map(), now);
  const query = recentQuery(ctx);
  return readPages(ctx, s, fresh.map((room) => ({ room, query })), (answer, later, conversations) => {
    if (s.state !== "handshake") return [];
    if (answer instanceof Error) {
      return fail(
        ctx,
        s,
        ErrorCode.STORAGE_ERROR,
        "cannot read history now; try again later",
        "storage_error",
        later,
      );
    }
    // The world moved while the log answered: another session may hold the name or the last seat now.
    const again = admit(ctx, s, msg, later);
    if (Array.isArray(again)) return again;
    const history = new Map(fresh.map((room, i) => [room, answer[i]]));
    return claimThenWelcome(ctx, s, msg, again, history, later, conversations);
  }, list);
}

/**
 * In a cluster, the name is claimed for the whole cluster before the welcome (another node may be
 * welcoming it, or a look-alike, at this very moment), and the checks run once more when the claim is in.
 * A transient session holds no name and claims none; on one server there is nothing to claim.
 */
function claimThenWelcome(
  ctx: Context,
  s: Session,
  msg: Hello,
  a: Admission,
  history: Map<string, Page>,
  now: number,
  conversations?: ConversationTail[],
): Effect[] {
  if (!ctx.options.cluster || a.transient) return welcome(ctx, s, a, history, now, conversations);
  // The token this session will have is made now, so that the claim can carry it.
  s.token = hex(ctx.randomBytes(TOKEN_BYTES));
  ctx.claims.set(s.id, (ok, later) => {
    if (s.state !== "handshake") return [];
    if (!ok) {
      return fail(ctx, s, ErrorCode.NAME_TAKEN, `name "${a.name}" is already online`, "name_taken", later);
    }
    const again = admit(ctx, s, msg, later);
    if (Array.isArray(again)) return again;
    return welcome(ctx, s, again, history, later, conversations);
  });
  return [{
    kind: "claim",
    to: s.id,
    name: a.name,
    key: a.key,
    token: s.token,
    resume: msg.resumeToken ? hex(msg.resumeToken) : "",
  }];
}

/** The cluster answered a name claim for session `s` (a ClaimEffect). */
export function claimed(ctx: Context, s: Session, ok: boolean, now: number): Effect[] {
  const then = ctx.claims.get(s.id);
  if (!then) return [];
  ctx.claims.delete(s.id);
  return then(ok, now);
}

/** Checks a HELLO: the admission, or the effects that refuse it. */
function admit(ctx: Context, s: Session, hello: Hello, now: number): Admission | Effect[] {
  if (hello.version !== PROTOCOL_VERSION) {
    return fail(
      ctx,
      s,
      ErrorCode.UNSUPPORTED_VERSION,
      `protocol version ${hello.version} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      "unsupported_version",
      now,
    );
  }
  const name = checkName(hello.name);
  if (!name.ok) return fail(ctx, s, name.code, `Invalid name: ${name.reason}`, "invalid_name", now);
  const rooms: string[] = [];
  for (const raw of hello.rooms.length ? hello.rooms : [DEFAULT_ROOM]) {
    const room = checkRoom(raw);
    if (!room.ok) return fail(ctx, s, room.code, `Invalid room: ${room.reason}`, "invalid_name", now);
    if (!rooms.includes(room.value)) rooms.push(room.value);
  }
  const limit = ctx.options.maxRoomsPerClient;
  if (rooms.length > limit) {
    return fail(
      ctx,
      s,
      ErrorCode.TOO_MANY_ROOMS,
      `${rooms.length} rooms exceeds the limit of ${limit} per client`,
      "too_many_rooms",
      now,
    );
  }
  const token = hello.resumeToken ? hex(hello.resumeToken) : null;
  const since = sinceOf(hello);
  const transient = hello.transient === true;
  const key = nameKey(name.value);
  const ip = hostOf(s.address);
  const ban = banOf(ctx, key, ip, now, name.value);
  if (ban) return fail(ctx, s, ErrorCode.BANNED, banText(ban), "banned", now);
  // A registered name needs its own password; in server-password mode every other name needs the server's.
  const registered = ctx.options.accounts.account(key) !== undefined;
  if (registered || ctx.options.requirePassword) {
    if (s.auth.password !== "ok") {
      // No hint which part was wrong, and each failure from this address waits longer for its answer.
      const ms = ctx.authFailures.fail(ip, now);
      return [
        { kind: "delay", ms },
        ...fail(ctx, s, ErrorCode.AUTH_FAILED, "authentication failed", "auth_failed", now),
      ];
    }
    ctx.authFailures.succeed(ip);
  }
  const holder = ctx.names.holder(key);
  // A resume: the same user, proven by the token of the session that holds the name.
  // The previous token counts too: a WELCOME lost with its connection never reached the client.
  // A session on another node of a cluster keeps its token there: the cluster-wide claim checks it.
  const resumed = !transient && holder !== undefined && token !== null &&
      (holder.remote !== "" ||
        (holder.token !== "" && sameToken(holder.token, token)) ||
        (holder.prevToken !== "" && sameToken(holder.prevToken, token)))
    ? holder
    : null;
  // A transient session may speak under a name someone holds only when it proved the name is its own.
  if (holder && !resumed && !(transient && registered)) {
    return fail(ctx, s, ErrorCode.NAME_TAKEN, `name "${name.value}" is already online`, "name_taken", now);
  }
  const lookalike = ctx.names.lookalike(name.value, (x) => x.key === key);
  if (lookalike) {
    return fail(
      ctx,
      s,
      ErrorCode.NAME_TAKEN,
      `name "${name.value}" looks too much like "${lookalike.name}", who is online`,
      "name_taken",
      now,
    );
  }
  // A resume keeps the name it had, even if a look-alike was registered meanwhile.
  const like = resumed ? undefined : ctx.lookalikes.registered(name.value, key, now);
  if (like !== undefined) {
    const text = `name "${name.value}" looks too much like "${like}", a registered name`;
    return fail(ctx, s, ErrorCode.NAME_TAKEN, text, "name_taken", now);
  }
  let evict: Session | null = null;
  // The limit is this node's: names held by other nodes' sessions do not count.
  if (!resumed && ctx.names.size - ctx.remotes.size + ctx.transients.size >= ctx.options.maxClients) {
    // Seats held only for a possible resume do not lock newcomers out: the oldest one goes first.
    evict = [...ctx.ghosts].find((g) => g.remote === "") ?? null;
    if (!evict) {
      return fail(
        ctx,
        s,
        ErrorCode.SERVER_FULL,
        `server is full (${ctx.options.maxClients} clients)`,
        "server_full",
        now,
      );
    }
  }
  const missing = rooms.filter((r) => !ctx.rooms.get(r)).length;
  if (ctx.rooms.size + missing > ctx.options.maxRooms) {
    return fail(
      ctx,
      s,
      ErrorCode.TOO_MANY_ROOMS,
      "the server holds its maximum number of rooms",
      "too_many_rooms",
      now,
    );
  }
  const features = featureSet(hello.features);
  return {
    name: name.value,
    key,
    rooms,
    since,
    resumed,
    transient,
    evict,
    presented: token ?? "",
    features,
    proven: registered && s.auth.password === "ok",
  };
}

/**
 * Completes an admitted handshake: takes over a resumed session, welcomes, seats in every room, then
 * lists the stored conversations (when they were read) and hands over what a resumed ghost held.
 */
function welcome(
  ctx: Context,
  s: Session,
  a: Admission,
  history: Map<string, Page>,
  now: number,
  conversations?: ConversationTail[],
): Effect[] {
  const effects: Effect[] = [];
  if (a.evict) {
    a.evict.state = "closed";
    effects.push(...vacate(ctx, a.evict, a.evict.ghostReason, "", now));
  }
  // Seats the resumed session held: taken over silently, without leave/join noise.
  const held = new Set<Room>();
  const resumed = a.resumed;
  if (resumed) {
    for (const room of resumed.rooms) held.add(room);
    // A session of another node is closed there, when that node sees this one take the name over.
    if (resumed.state === "ready" && resumed.remote === "") {
      // The old connection may still look alive (a silent network), or be another copy of the same client:
      // it is told, so that it does not take the session back in turn.
      ctx.sessions.delete(resumed);
      effects.push(
        fatal(
          resumed,
          ErrorCode.REPLACED,
          `replaced by a newer session of ${resumed.name} (from ${hostOf(s.address)})`,
        ),
        { kind: "close", to: resumed.id, reason: "replaced" },
      );
    }
    resumed.state = "closed";
    ctx.ghosts.delete(resumed);
    ctx.byId.delete(resumed.id);
    ctx.names.release(resumed);
    if (resumed.remote !== "") ctx.remotes.delete(`${resumed.remote}:${resumed.remoteSid}`);
    for (const room of resumed.rooms) {
      room.members.delete(resumed);
      room.ghosts.delete(resumed);
      if (!a.rooms.includes(room.name)) {
        effects.push(...presence(room, "leave", resumed.name, "left", "", now, null), ...shrank(ctx, room));
        ctx.rooms.forgetIfEmpty(room);
      }
    }
    resumed.rooms.clear();
  }

  s.state = "ready";
  s.name = a.name;
  s.key = a.key;
  // In a cluster the token was made for the name's claim, which holds it.
  if (!ctx.options.cluster || s.token === "") s.token = hex(ctx.randomBytes(TOKEN_BYTES));
  // A session of another node resumed here: the token it had there is the one the client presented.
  s.prevToken = resumed ? (resumed.remote !== "" ? a.presented : resumed.token) : "";
  s.admin = s.auth.admin;
  s.transient = a.transient;
  s.features = a.features;
  s.verified = a.proven ? a.key : "";
  if (s.transient) ctx.transients.add(s);
  else ctx.names.claim(s);
  const rate = ctx.options.rate ?? DEFAULT_RATE;
  effects.push(send(s, {
    type: "welcome",
    version: PROTOCOL_VERSION,
    name: s.name,
    heartbeatMs: ctx.heartbeatMs,
    timeoutMs: ctx.options.timeoutMs,
    maxFrame: ctx.options.maxFrame,
    maxText: ctx.options.maxText,
    rooms: a.rooms,
    resumeToken: unhex(s.token),
    storeId: storeIdBytes(ctx.options.logId),
    // perSecond 0 is no limit: nothing to announce.
    ...(rate.perSecond > 0 ? { rateLimit: { perSecond: rate.perSecond, burst: rate.burst } } : {}),
    features: [...FEATURES],
  }));
  for (const r of a.rooms) {
    const room = ctx.rooms.open(r);
    effects.push(...joinRoom(ctx, s, r, now, { history: history.get(r), announce: !held.has(room) }));
  }
  if (conversations !== undefined) effects.push(conversationsFor(ctx, s, conversations));
  if (resumed) effects.push(...handOver(resumed, s));
  if (ctx.options.motd) effects.push(send(s, { type: "notice", kind: "motd", text: ctx.options.motd }));
  effects.push(...share(ctx, s));
  return effects;
}

/** A frame from `s` could not be decoded. Unknown types are answered and skipped; anything else closes. */
export function protocolFailure(ctx: Context, s: Session, err: ProtocolError, now: number): Effect[] {
  // The session may have ended earlier in the same chunk (a bad header after a fatal frame): nothing more to say.
  if (s.state === "closed" || s.state === "ghost") return [];
  if (err.code === ErrorCode.UNKNOWN_TYPE && s.state === "ready") {
    s.lastSeen = now; // a frame arrived: the peer is alive, even if we cannot read it
    return [
      send(s, {
        type: "error",
        fatal: false,
        code: err.code,
        ref: 0,
        message: `${err.message}; frame ignored`,
      }),
    ];
  }
  // UNEXPECTED_FRAME: the decoder refused a server-to-client frame type.
  const reason: CloseReason = err.code === ErrorCode.TOO_LARGE
    ? "too_large"
    : err.code === ErrorCode.UNEXPECTED_FRAME
    ? "unexpected_frame"
    : "bad_frame";
  return fail(ctx, s, err.code, err.message, reason, now);
}

/** Sends a fatal error and drops the session. */
export function fail(
  ctx: Context,
  s: Session,
  code: ErrorCode,
  message: string,
  reason: CloseReason,
  now: number,
): Effect[] {
  return [fatal(s, code, message), ...drop(ctx, s, reason, now)];
}

/**
 * Ends a session for `reason`: announces the leave to every room it was in
 * and asks for the connection to be closed. Idempotent. A ready session
 * that dropped uncleanly becomes a ghost for the grace period instead.
 */
export function drop(ctx: Context, s: Session, reason: CloseReason, now: number, text = ""): Effect[] {
  if (s.state === "closed" || s.state === "ghost") return [];
  const effects: Effect[] = [];
  const code = CLOSE_ERROR[reason];
  if (code) effects.push(fatal(s, code, closeText(reason)));
  const wasReady = s.state === "ready";
  ctx.sessions.delete(s);
  if (wasReady && ctx.graceMs > 0 && UNCLEAN_CLOSES.has(reason) && !s.transient) {
    // Keep the name and seats for a while: a resume within the grace period makes no leave/join noise.
    s.state = "ghost";
    s.ghostUntil = now + ctx.graceMs;
    s.ghostReason = reason;
    ctx.ghosts.add(s);
    for (const room of s.rooms) {
      room.members.delete(s);
      room.ghosts.add(s);
    }
  } else {
    s.state = "closed";
    ctx.byId.delete(s.id);
    if (wasReady) effects.push(...vacate(ctx, s, reason === "shutdown" ? null : reason, text, now));
  }
  effects.push({ kind: "close", to: s.id, reason });
  return effects;
}

/** Frees a ready or ghost session's name and seats, announcing the leave unless `reason` is null. */
export function vacate(ctx: Context, s: Session, reason: string | null, text: string, now: number): Effect[] {
  const effects: Effect[] = [];
  if (s.transient) ctx.transients.delete(s);
  else ctx.names.release(s);
  ctx.ghosts.delete(s);
  ctx.byId.delete(s.id);
  if (s.remote !== "") ctx.remotes.delete(`${s.remote}:${s.remoteSid}`);
  else if (ctx.options.cluster && !s.transient && reason !== null) {
    // The other nodes announce the leave to their members, and the name is free in the whole cluster.
    // (At a shutdown, reason null, they see the node go instead, and hold its users for the grace period.)
    effects.push({ kind: "unshare", sid: s.id, name: s.name, key: s.key, reason, text });
  }
  for (const room of s.rooms) {
    room.members.delete(s);
    room.ghosts.delete(s);
    if (reason !== null && !s.transient) {
      effects.push(...presence(room, "leave", s.name, reason, text, now, null), ...shrank(ctx, room));
    }
    ctx.rooms.forgetIfEmpty(room);
  }
  s.rooms.clear();
  return effects;
}

/** Tells everyone the server is stopping and closes every session. */
export function shutdown(ctx: Context, now: number): Effect[] {
  const effects: Effect[] = [];
  for (const s of [...ctx.sessions]) effects.push(...drop(ctx, s, "shutdown", now));
  for (const g of [...ctx.ghosts]) {
    g.state = "closed";
    vacate(ctx, g, null, "", now);
  }
  return effects;
}

/** Announces the leave of every ghost whose grace period is over. */
export function expireGhosts(ctx: Context, now: number): Effect[] {
  const effects: Effect[] = [];
  // Deleting from a Set while iterating it is safe in JavaScript.
  for (const g of ctx.ghosts) {
    if (g.ghostUntil <= now) {
      g.state = "closed";
      effects.push(...vacate(ctx, g, g.ghostReason, "", now));
    }
  }
  return effects;
}

/** A HELLO's SINCE by canonical room name; names that break the room rules are ignored. */
function sinceOf(hello: Hello): Map<string, number> {
  const since = new Map<string, number>();
  for (const [raw, seq] of hello.since ?? []) {
    const room = checkRoom(raw);
    if (room.ok) since.set(room.value, seq);
  }
  return since;
}

/** Compares two tokens in time independent of where they differ. */
function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function closeText(reason: CloseReason): string {
  switch (reason) {
    case "timeout":
      return "no frame arrived within the timeout";
    case "slow_consumer":
      return "outbound queue overflowed: the client is not reading fast enough";
    case "flood":
      return "too many messages too fast for too long";
    case "shutdown":
      return "the server is shutting down";
    default:
      return reason;
  }
}

/** The store id every WELCOME carries, as bytes: one store's id for the server's life, so parsed once. */
let storeIdText = "";
let storeIdParsed: Uint8Array = new Uint8Array(0);

function storeIdBytes(logId: string): Uint8Array {
  if (logId !== storeIdText) {
    storeIdParsed = unhex(logId);
    storeIdText = logId;
  }
  return storeIdParsed;
}
