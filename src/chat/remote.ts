/**
 * The other nodes of a cluster, as this broker sees them: each of their
 * sessions is a Session here too (`remote` set), holding its name and its
 * seats, so that names stay unique, member lists and room sizes are the
 * cluster's, and this node's members hear that session's joins, leaves, nick
 * and away changes as presence, exactly as for a local one. The cluster bus
 * turns what the other nodes share into these inputs.
 *
 * @module
 */

import { ErrorCode } from "../protocol/mod.ts";
import { type Context, fatal } from "./context.ts";
import { handOver } from "./conversations.ts";
import type { Effect, SharedSession } from "./effects.ts";
import { drop, vacate } from "./handshake.ts";
import { joinRoom, presence, shrank, toMyRooms } from "./rooms.ts";
import { rename, Session, setAway } from "./session.ts";

function remoteKey(node: string, sid: number): string {
  return `${node}:${sid}`;
}

/**
 * A session of node `node` appeared or changed (its rooms, name or away
 * message): this node's members hear what changed.
 */
export function remoteUpsert(ctx: Context, node: string, shared: SharedSession, now: number): Effect[] {
  const effects: Effect[] = [];
  let s = ctx.remotes.get(remoteKey(node, shared.sid));
  if (!s) {
    // Ids of other nodes' sessions count down from -1, apart from this node's own (which count up from 1).
    s = new Session(-1 - ctx.remoteIds++, `${node}:${shared.sid}`, now);
    s.remote = node;
    s.remoteSid = shared.sid;
    s.name = shared.name;
    s.key = shared.key;
    // The name held here by another session of the same user (a ghost that resumed on that node, or this
    // node's own session that the user took over from there): its seats pass on without leave and join noise.
    const before = ctx.names.holder(shared.key);
    const held = new Set<string>();
    if (before) {
      for (const room of before.rooms) held.add(room.name);
      if (before.remote === "" && before.state === "ready") {
        // This node's session of the user: the user resumed it on another node (told, so it does not fight back).
        effects.push(
          fatal(
            before,
            ErrorCode.REPLACED,
            `replaced by a newer session of ${before.name} (on another server)`,
          ),
          { kind: "close", to: before.id, reason: "replaced" },
        );
        ctx.sessions.delete(before);
      }
      before.state = "closed";
      for (const room of before.rooms) {
        room.members.delete(before);
        room.ghosts.delete(before);
      }
      // Its name is released here without telling the cluster: the claim has moved with the user.
      ctx.names.release(before);
      ctx.ghosts.delete(before);
      ctx.byId.delete(before.id);
      if (before.remote !== "") ctx.remotes.delete(remoteKey(before.remote, before.remoteSid));
      const gone = [...before.rooms].filter((r) => !shared.rooms.includes(r.name));
      before.rooms.clear();
      for (const room of gone) {
        effects.push(...presence(room, "leave", before.name, "left", "", now, null), ...shrank(ctx, room));
        ctx.rooms.forgetIfEmpty(room);
      }
    }
    s.state = "ready";
    ctx.remotes.set(remoteKey(node, shared.sid), s);
    ctx.byId.set(s.id, s);
    ctx.names.claim(s);
    // Direct messages held for the user while it was reconnecting go where it reconnected.
    if (before) effects.push(...handOver(before, s));
    for (const room of shared.rooms) {
      effects.push(...joinRoom(ctx, s, room, now, { announce: !held.has(room) }));
    }
    if (shared.away !== "") {
      setAway(s, shared.away);
      effects.push(...toMyRooms(s, "away", s.name, s.away, now).filter((e) => e.kind === "broadcast"));
    }
    return effects;
  }
  if (s.state === "ghost") {
    // Its node is back (or was only slow): the seats it kept are taken again, without noise.
    ctx.ghosts.delete(s);
    s.state = "ready";
    for (const room of s.rooms) {
      room.ghosts.delete(s);
      room.members.add(s);
    }
  }
  if (shared.key !== s.key || shared.name !== s.name) {
    const old = s.name;
    ctx.names.release(s);
    rename(s, shared.name);
    s.key = shared.key;
    ctx.names.claim(s);
    effects.push(...toMyRooms(s, "nick", old, s.name, now).filter((e) => e.kind === "broadcast"));
  }
  const want = new Set(shared.rooms);
  for (const room of [...s.rooms]) {
    if (want.has(room.name)) continue;
    const heard = !room.quiet;
    room.members.delete(s);
    s.rooms.delete(room);
    if (heard) effects.push(...presence(room, "leave", s.name, "left", "", now, null));
    effects.push(...shrank(ctx, room));
    ctx.rooms.forgetIfEmpty(room);
  }
  for (const name of shared.rooms) {
    if (![...s.rooms].some((r) => r.name === name)) {
      effects.push(...joinRoom(ctx, s, name, now, { announce: true }));
    }
  }
  if (shared.away !== s.away) {
    setAway(s, shared.away);
    effects.push(...toMyRooms(s, "away", s.name, s.away, now).filter((e) => e.kind === "broadcast"));
  }
  return effects;
}

/** A session of node `node` ended for `reason`: its leave is announced here, and its name is free. */
export function remoteGone(
  ctx: Context,
  node: string,
  sid: number,
  reason: string,
  text: string,
  now: number,
): Effect[] {
  const s = ctx.remotes.get(remoteKey(node, sid));
  if (!s) return [];
  s.state = "closed";
  return vacate(ctx, s, reason, text, now);
}

/**
 * Node `node` is gone (it died, or lost NATS): its sessions are held as
 * ghosts for the grace period, as this node holds its own dropped users, in
 * case they come back on another node; then their leave is announced.
 */
export function remoteNodeDown(ctx: Context, node: string, now: number): Effect[] {
  const effects: Effect[] = [];
  for (const s of [...ctx.remotes.values()]) {
    if (s.remote !== node || s.state !== "ready") continue;
    // drop() ghosts a ready session for an unclean reason; remote sessions are not in ctx.sessions.
    ctx.sessions.add(s);
    effects.push(...drop(ctx, s, "disconnected", now).filter((e) => e.kind !== "close"));
  }
  return effects;
}
