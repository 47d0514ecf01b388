/**
 * A cluster's storage, opened in one call: the shared message log, the
 * shared accounts and bans, and the rooms' topics. Loaded only by `chat serve --cluster` (with a
 * computed import, so that a server without a cluster never downloads the
 * NATS client).
 *
 * @module
 */

import { Kvm } from "npm:@nats-io/kv@3.4.0";
import type {
  Account,
  AccountStore,
  AppendResult,
  Ban,
  BanStore,
  ConversationTail,
  Draft,
  MessageLog,
  Page,
  PageQuery,
  RoomSettings,
  RoomTopic,
  SenderRef,
  SendReceipt,
} from "../../chat/ports.ts";
import { type ClusterOptions, JetStreamLog, ready } from "./log.ts";
import { KvRoomSettings } from "./topics.ts";
import { KvUsers } from "./users.ts";

export { type ClusterOptions, DEFAULT_REPLAY_MS, JetStreamLog } from "./log.ts";
export { ClusterAccounts } from "./users.ts";

/** The log, the users and the room settings of a cluster as the one store a server is given. */
export class ClusterStore implements MessageLog, AccountStore, BanStore, RoomSettings {
  readonly log: JetStreamLog;
  readonly users: KvUsers;
  readonly rooms: KvRoomSettings;
  readonly durable = true;

  constructor(log: JetStreamLog, users: KvUsers, rooms: KvRoomSettings) {
    this.log = log;
    this.users = users;
    this.rooms = rooms;
  }

  get id(): string {
    return this.log.id;
  }
  append(drafts: readonly Draft[]): Promise<AppendResult[]> {
    return this.log.append(drafts);
  }
  receipts(refs: readonly SenderRef[]): Array<SendReceipt | undefined> {
    return this.log.receipts(refs);
  }
  page(room: string, query: PageQuery): Page | Promise<Page> {
    return this.log.page(room, query);
  }
  conversations(key: string, limit: number): ConversationTail[] | Promise<ConversationTail[]> {
    return this.log.conversations(key, limit);
  }
  prune(now: number): number {
    return this.log.prune(now);
  }
  close(): void {
    this.log.close();
  }
  account(key: string): Account | undefined {
    return this.users.account(key);
  }
  putAccount(account: Account): void {
    this.users.putAccount(account);
  }
  removeAccount(key: string): boolean {
    return this.users.removeAccount(key);
  }
  accounts(): Account[] {
    return this.users.accounts();
  }
  get version(): number {
    return this.users.version;
  }
  bans(now: number): Ban[] {
    return this.users.bans(now);
  }
  putBan(ban: Ban): void {
    this.users.putBan(ban);
  }
  removeBan(target: string): boolean {
    return this.users.removeBan(target);
  }
  topic(room: string): RoomTopic | undefined {
    return this.rooms.topic(room);
  }
  putTopic(topic: RoomTopic): void {
    this.rooms.putTopic(topic);
  }
}

/** Joins the cluster: the log (caught up with the stream) and the users (loaded). */
export async function openCluster(options: ClusterOptions): Promise<ClusterStore> {
  const log = await JetStreamLog.open(options);
  const kvm = new Kvm(log.nats);
  const prefix = log.streamName;
  const bucket = (name: string) =>
    ready(() => kvm.create(`${prefix}_${name}`, { history: 1, replicas: options.replicas }), options.logger);
  const [accounts, bans, topics] = await Promise.all([bucket("accounts"), bucket("bans"), bucket("topics")]);
  const warn = (line: string) => options.logger.warn(line);
  const [users, rooms] = await Promise.all([
    KvUsers.open(accounts, bans, warn),
    KvRoomSettings.open(topics, warn),
  ]);
  options.logger.info(
    `cluster: buckets ${prefix}_accounts, ${prefix}_bans and ${prefix}_topics: accounts, bans and topics are shared`,
  );
  return new ClusterStore(log, users, rooms);
}
