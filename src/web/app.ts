/**
 * The browser client, wired together: sign-in, the session and its
 * connection ({@linkcode Link}), the model and its view, storage, the
 * commands of the shared registry, the keyboard, scrolling back, and
 * desktop notifications. main.ts only starts it.
 *
 * @module
 */

import {
  type Action,
  ALL_ROOMS,
  argumentKind,
  commandNames,
  helpRows,
  HISTORY_PAGE,
  notSupported,
  parseLine,
  type Target,
} from "../client/commands.ts";
import { complete, type Completion, type CompletionInput } from "../client/complete.ts";
import type { ClientEvent } from "../client/events.ts";
import { lastlog } from "../client/lastlog.ts";
import {
  describeIgnored,
  describeJoins,
  isIgnored,
  type Prefs,
  withIgnored,
  withJoins,
} from "../client/prefs.ts";
import { ClientSession, DIRECT_PREFIX, type Step } from "../client/session.ts";
import { splitText } from "../client/split.ts";
import { whoisText } from "../client/whois.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Feature } from "../protocol/extensions.ts";
import { type ClientMessage, MessageFlags } from "../protocol/messages.ts";
import { checkName, DEFAULT_ROOM, nameKey } from "../protocol/names.ts";
import { findWindows, shortcut } from "./keys.ts";
import { Link } from "./link.ts";
import { type Alert, Model, peerId, protocolRoom, roomId, title, type Win, windowId } from "./model.ts";
import { BrowserStore, type KeyValue, PREFIX } from "./store.ts";
import { bindDom, type Dom, shown, View } from "./view.ts";

/** Older messages asked for at a time when scrolling up. */
export const SCROLL_PAGE = HISTORY_PAGE;

/** How close to the top of the log (in pixels) scrolling asks for older messages. */
const NEAR_TOP = 80;

/** The password of this tab's session: kept for reconnects and a reload, gone with the tab. */
const PASSWORD_KEY = PREFIX + "password";

/** What the page runs in; a test can pass another document or storage. */
export interface Env {
  doc: Document;
  local: KeyValue;
  session: KeyValue;
  /** The WebSocket address: ws(s)://this host/ws. */
  wsUrl: string;
  /** host:port, as events and storage name the server. */
  server: string;
}

/** The environment of a page served by `chat serve`. */
export function pageEnv(): Env {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return {
    doc: document,
    local: localStorage,
    session: sessionStorage,
    wsUrl: url.href,
    server: location.host,
  };
}

export class App {
  readonly env: Env;
  readonly dom: Dom;
  readonly view: View;
  model: Model | null = null;
  store: BrowserStore | null = null;
  link: Link | null = null;
  #scheduled = false;
  #completion: Completion<CompletionInput> | null = null;
  /** Rooms whose member list was asked for with /who: the answer is said in the log. */
  #asked = new Set<string>();
  /** The oldest seq a page of history was asked before, per window: one request per position. */
  #paging = new Map<string, number>();
  /** Windows with a page of older history on its way: one at a time, whatever the scrolling does. */
  #inflight = new Set<string>();
  #sent: string[] = [];
  /** Set when another tab took the session over: /reconnect starts afresh from what that tab kept. */
  #replaced: { name: string; password: string | undefined } | null = null;
  #recall = -1;
  /** A /quit or Sign out waiting for the server to confirm what was sent (see #leave). */
  #leaving: { reason: string; pending: number; timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(env: Env) {
    this.env = env;
    this.dom = bindDom(env.doc);
    this.view = new View(env.doc, this.dom);
  }

  /** Signs in again as the name this page last used, or shows the sign-in form. */
  boot(): void {
    this.#listen();
    const name = BrowserStore.identity(this.env.local);
    if (name) {
      this.dom.name.value = name;
      this.#connect(name, this.env.session.getItem(PASSWORD_KEY) ?? undefined);
      // A returning user sees their windows at once, from storage, while the page connects.
      this.#showApp();
    } else {
      this.#showSignin("");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Signing in and the connection

  #showSignin(error: string, askPassword = false): void {
    const d = this.dom;
    d.app.hidden = true;
    d.signin.hidden = false;
    // It may carry the server's words (a ban's reason): received text, shown as the log shows it.
    d.signinError.textContent = shown(error);
    if (askPassword) d.passwordRow.hidden = false;
    (askPassword ? d.password : d.name).focus();
    d.name.disabled = d.password.disabled = false;
  }

  #showApp(): void {
    this.dom.signin.hidden = true;
    this.dom.app.hidden = false;
    this.dom.signinError.textContent = "";
  }

  #submitSignin(): void {
    const d = this.dom;
    const check = checkName(d.name.value.trim());
    if (!check.ok) {
      d.signinError.textContent = `That name cannot be used: ${check.reason}.`;
      return;
    }
    const password = d.passwordRow.hidden || d.password.value === "" ? undefined : d.password.value;
    d.signinError.textContent = "Joining…";
    performance.mark("chat:signin");
    d.name.disabled = d.password.disabled = true;
    this.#connect(check.value, password);
  }

  #connect(name: string, password: string | undefined): void {
    const env = this.env;
    const store = new BrowserStore(env.local, name);
    const saved = store.view();
    const model = new Model(name, store.prefs());
    if (saved) {
      model.restore(saved.windows);
      model.current = saved.current;
    }
    // A room whose lines were not kept (storage full or cleared) gets its recent history again rather
    // than a resume from a sequence the page shows nothing of.
    for (const room of Object.keys(store.journal.lastSeq)) {
      if (!model.get(windowId(room))?.lines.some((l) => l.seq !== undefined)) {
        delete store.journal.lastSeq[room];
      }
    }
    const rooms = saved && saved.rooms.length > 0 ? saved.rooms : [DEFAULT_ROOM];
    const session = new ClientSession({
      server: env.server,
      name,
      rooms,
      saved: store.journal,
      ...(password !== undefined ? { password } : {}),
      now: Date.now(),
    });
    for (const p of session.outbox) model.queued(p, Date.now());
    store.watch(() => ({
      rooms: session.rooms,
      current: model.current,
      windows: model.snapshot(Number.MAX_SAFE_INTEGER),
    }));
    this.model = model;
    this.store = store;
    this.link = new Link(env.wsUrl, session, {
      step: (step) => this.#events(step),
      journal: (entries) => {
        for (const e of entries) {
          const reset = e.op === "token" && e.storeId && store.journal.storeId &&
            e.storeId !== store.journal.storeId;
          if (reset) model.storeReset(Date.now());
          store.record(e);
        }
      },
      status: (e) => this.#event(e),
      settled: (room) => {
        this.#inflight.delete(windowId(room));
        this.#schedule();
      },
      stopped: (code, message, everWelcomed) => this.#stopped(code, message, everWelcomed, password),
    });
    if (password !== undefined) env.session.setItem(PASSWORD_KEY, password);
    this.link.start();
    this.#schedule();
  }

  #stopped(code: string, message: string, everWelcomed: boolean, password: string | undefined): void {
    if (!everWelcomed) {
      // The sign-in itself was refused: back to the form, which says why.
      this.link = null;
      this.model = null;
      this.store = null;
      BrowserStore.setIdentity(this.env.local, null);
      this.env.session.removeItem(PASSWORD_KEY);
      const auth = code === ErrorCode.AUTH_FAILED;
      const why = auth
        ? password === undefined ? "This name (or this server) needs a password." : "Wrong password."
        : `${code}: ${message}`;
      this.#showSignin(why, auth);
      return;
    }
    const replaced = code === ErrorCode.REPLACED;
    // The refusal itself (its code and message) is in the log already, from the ERROR that said it.
    const hint = replaced
      ? "Another tab or device took this session over; /reconnect takes it back."
      : "/reconnect tries again.";
    this.model?.say(hint, Date.now());
    this.#render();
    if (replaced) {
      // The other tab shares this storage and now keeps the journal: this one must not write over it.
      this.#replaced = { name: this.model?.me ?? "", password };
      this.store = null;
    }
  }

  /**
   * /quit and Sign out. Connected with messages not yet confirmed, it first waits for the server to
   * confirm them (the outbox empty), as the terminal client does, for as long as the outbox keeps
   * shrinking within the server's timeout; then says goodbye and forgets the name. Offline, or asked
   * again while waiting, it leaves at once: what was not sent is forgotten with the rest.
   */
  #leave(reason: string): void {
    const link = this.link;
    if (this.#leaving || !link?.ready || link.session.pending === 0) return this.#signOut(reason);
    const pending = link.session.pending;
    this.#leaving = { reason, pending, timer: this.#leaveBy(reason, link.timeoutMs) };
    this.model?.say(
      `waiting for the server to confirm ${pending} message(s), then signing out (Sign out again leaves now)`,
      Date.now(),
    );
    this.#schedule();
  }

  #leaveBy(reason: string, ms: number): ReturnType<typeof setTimeout> {
    return setTimeout(() => this.#signOut(reason), ms);
  }

  /** While leaving: signs out once the outbox is empty (true), and gives it more time while it shrinks. */
  #leftYet(): boolean {
    const leaving = this.#leaving;
    if (!leaving) return false;
    const pending = this.link?.session.pending ?? 0;
    if (pending === 0) {
      this.#signOut(leaving.reason);
      return true;
    }
    if (pending < leaving.pending) {
      leaving.pending = pending;
      clearTimeout(leaving.timer);
      leaving.timer = this.#leaveBy(leaving.reason, this.link!.timeoutMs);
    }
    return false;
  }

  #signOut(reason: string): void {
    if (this.#leaving) clearTimeout(this.#leaving.timer);
    this.#leaving = null;
    this.link?.stop(reason);
    this.store?.clear();
    BrowserStore.setIdentity(this.env.local, null);
    this.env.session.removeItem(PASSWORD_KEY);
    this.link = null;
    this.model = null;
    this.store = null;
    this.dom.roomList.replaceChildren();
    this.dom.log.replaceChildren();
    this.dom.members.replaceChildren();
    this.dom.password.value = "";
    this.#showSignin("");
  }

  // ---------------------------------------------------------------------------------------------
  // Events in

  #events(step: Step): void {
    for (const e of step.events) this.#event(e);
  }

  #event(e: ClientEvent): void {
    const model = this.model;
    if (!model) return;
    if (e.type === "status" && e.state !== "connected") this.#inflight.clear(); // lost with the connection
    if (e.type === "status" && !this.dom.signin.hidden && e.state === "reconnecting") {
      this.dom.signinError.textContent = shown(`Cannot reach the server (${e.reason}); trying again…`);
    }
    if (e.type === "welcome") {
      // Signed in: the page now opens as this user until signing out.
      BrowserStore.setIdentity(this.env.local, e.name);
      this.#showApp();
      if (!e.reconnected) {
        this.dom.input.focus();
        // How long from navigation to a joined room: read by the tests, and by anyone in the dev tools.
        if (performance.getEntriesByName("chat:joined").length === 0) performance.mark("chat:joined");
      }
    }
    if (e.type === "presence" && e.event === "nick" && nameKey(e.name) === nameKey(model.me)) {
      // Our own new name: a reload signs in as it, and so resumes this session rather than start another.
      this.store?.rename(e.text);
    }
    if (e.type === "members" && this.#asked.delete(e.room)) {
      const list = e.online.map((n) => {
        const away = model.away.get(nameKey(n));
        return away ? `${n} (away: ${away})` : n;
      });
      model.say(`online in #${e.room} (${e.online.length}): ${list.join(", ")}`, Date.now());
    }
    const alerts = model.apply(e, this.#looking(), Date.now());
    for (const a of alerts) this.#notify(a);
    this.store?.touch();
    this.#schedule();
  }

  #looking(): boolean {
    return this.env.doc.visibilityState === "visible";
  }

  // ---------------------------------------------------------------------------------------------
  // Drawing and storing, once per batch of events

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      // Here, after the step that got us here is performed whole: signing out stops the link.
      if (this.#leftYet()) return;
      this.#render();
    });
  }

  #render(): void {
    const model = this.model;
    const link = this.link;
    if (!model || !link) return;
    const w = model.shown;
    if (w && this.#looking()) model.seen(w);
    const members = w?.kind === "room" ? link.session.members(w.target) : [];
    this.view.render(model, members);
    const oldest = w ? model.oldestSeq(protocolRoom(w)) : undefined;
    this.dom.older.hidden = oldest === undefined || oldest <= 1;
    const unread = model.windows.reduce((n, x) => n + x.unread, 0);
    this.env.doc.title = unread > 0 ? `(${unread}) chat` : "chat";
    if (this.store?.dirty) this.store.flush();
    this.#maybeOlder();
  }

  // ---------------------------------------------------------------------------------------------
  // Typing

  /** Handles one submitted line: a message to the current window, or a command. */
  submit(text: string): void {
    const model = this.model;
    if (!model) return;
    const now = Date.now();
    const line = parseLine(text);
    switch (line.kind) {
      case "empty":
        if (this.link && !this.link.ready) this.link.reconnect();
        return;
      case "text":
        this.#sendText(line.text, 0);
        break;
      case "command":
        this.#perform(line.action, now);
        break;
      case "invalid":
        model.say(line.error, now, "error");
        break;
      case "unknown":
        model.say(`unknown command /${line.name}; /help lists them`, now, "error");
        break;
    }
    this.#schedule();
  }

  #sendText(text: string, flags: number, to?: string): void {
    const model = this.model!;
    const w = to !== undefined ? undefined : model.shown;
    if (to === undefined && !w) {
      model.say(`join a room first: /join ${DEFAULT_ROOM}`, Date.now(), "error");
      return;
    }
    this.#queue(to !== undefined ? `${DIRECT_PREFIX}${to}` : protocolRoom(w!), text, flags);
  }

  /** Queues `text` for `room`: as several messages, in order, when longer than the server takes in one. */
  #queue(room: string, text: string, flags: number): void {
    const link = this.link!;
    const now = Date.now();
    for (const part of splitText(text, link.session.maxText)) {
      const p = { id: link.session.newId(), room, flags, text: part };
      this.model!.queued(p, now);
      link.perform(link.session.queue(p, now));
    }
  }

  /** Sends a request, or says that it needs a connection. */
  #request(msg: ClientMessage): boolean {
    if (this.link?.send(msg)) return true;
    this.model?.say(
      "not connected: this needs the server (it is tried again once connected)",
      Date.now(),
      "error",
    );
    return false;
  }

  #window(target: Target): Win | undefined {
    const model = this.model!;
    switch (target.kind) {
      case "room":
        return model.get(roomId(target.room));
      case "peer":
        return model.get(peerId(target.name));
      case "index":
        return model.windows[target.index - 1];
    }
  }

  #perform(a: Action, now: number): void {
    const model = this.model!;
    const link = this.link!;
    const say = (text: string, level: "notice" | "error" = "notice") => model.say(text, now, level);
    const current = model.shown;
    switch (a.kind) {
      case "help":
        say(
          [
            "commands:",
            ...helpRows().map(([u, h]) => `  ${u}  ${h}`),
            "keys: Enter sends, Shift-Enter a new line, Tab completes, Alt-1..9 shows window N,",
            "  Alt-Up/Down the previous/next window, Ctrl-K finds a window, Up recalls what you sent",
          ].join("\n"),
        );
        break;
      case "who": {
        const room = a.room ?? (current?.kind === "room" ? current.target : undefined);
        if (!room) return say("usage: /who ROOM (this window is not a room)", "error");
        if (!link.session.rooms.includes(room) && !link.session.features.has(Feature.WHO_ANY)) {
          return say(notSupported("/who for a room you are not in"), "error");
        }
        if (this.#request({ type: "who", room })) this.#asked.add(room);
        break;
      }
      case "join": {
        const w = model.get(roomId(a.room));
        if (w && link.session.rooms.includes(a.room)) {
          model.switchTo(w.id);
          break;
        }
        if (this.#request({ type: "join", room: a.room })) model.joining.push(a.room);
        break;
      }
      case "leave": {
        const w = a.target ? this.#window(a.target) : current;
        if (!w) return say("no such window", "error");
        if (w.kind === "dm") model.close(w.id);
        else if (!link.session.rooms.includes(w.target)) model.close(w.id);
        else this.#request({ type: "leave", room: w.target });
        break;
      }
      case "rooms":
        say(
          model.windows.map((w, i) => `${i + 1}: ${title(w)}${w.unread ? ` (${w.unread} unread)` : ""}`).join(
            "\n",
          ) ||
            "no windows",
        );
        break;
      case "switch": {
        const w = this.#window(a.target);
        if (!w) return say("no such window", "error");
        this.show(w.id);
        break;
      }
      case "me":
        this.#sendText(a.text, MessageFlags.ACTION);
        break;
      case "msg":
        model.open(peerId(a.to), a.to);
        this.#sendText(a.text, 0, a.to);
        break;
      case "query":
        this.show(model.open(peerId(a.to), a.to).id);
        if (a.text) this.#sendText(a.text, 0, a.to);
        break;
      case "nick":
        this.#request({ type: "nick", name: a.name });
        break;
      case "away":
        this.#request({ type: "away", text: a.text });
        break;
      case "history": {
        if (!current) return say("/history works in a room or a stored conversation", "error");
        if (current.kind === "dm" && model.oldestSeq(protocolRoom(current)) === undefined) {
          return say(
            "/history works in a stored conversation (both names registered), and this one is not stored",
            "error",
          );
        }
        if (!this.#older(current, a.count, true)) say("nothing older to fetch, or not connected");
        break;
      }
      case "register":
        this.#request({ type: "register", password: a.password });
        break;
      case "moderate":
        this.#request({
          type: "moderate",
          action: a.action,
          target: a.target,
          durationMs: a.durationMs,
          reason: a.reason,
        });
        break;
      case "reconnect":
        if (this.#replaced) {
          const { name, password } = this.#replaced;
          this.#replaced = null;
          this.#connect(name, password);
        } else if (link.ready) say("already connected");
        else link.reconnect();
        break;
      case "clear":
        if (current) current.lines = [];
        this.store?.touch();
        break;
      case "quit":
        this.#leave(a.reason);
        break;
      case "whois":
        say(whoisText(a.name, {
          me: model.me,
          rooms: link.session.rooms.map((room) => ({
            room,
            members: link.session.members(room),
            quiet: model.get(roomId(room))?.quiet !== undefined,
          })),
          away: (n) => model.away.get(nameKey(n)) ?? "",
        }));
        break;
      case "lastlog": {
        const lines = (current?.lines ?? []).filter((l) => l.kind === "chat");
        const found = lastlog(lines, a.text);
        say(
          found.total === 0
            ? `no line matches ${a.text}`
            : [`${found.total} line(s) match ${a.text}:`, ...found.shown.map((l) => `<${l.from}> ${l.text}`)]
              .join("\n"),
        );
        break;
      }
      case "ignore":
        if (a.name === undefined) say(describeIgnored(model.prefs));
        else {
          this.#prefs(withIgnored(model.prefs, a.name, true));
          say(`ignoring ${a.name}: ${isIgnored(model.prefs, a.name) ? "their messages are hidden" : ""}`);
        }
        break;
      case "unignore":
        this.#prefs(withIgnored(model.prefs, a.name, false));
        say(`${a.name} is no longer ignored`);
        break;
      case "joins":
        if (a.hide !== undefined) {
          const room = a.room === ALL_ROOMS
            ? null
            : a.room ?? (current?.kind === "room" ? current.target : null);
          this.#prefs(withJoins(model.prefs, a.hide, room));
        }
        say(describeJoins(model.prefs));
        break;
      case "list": {
        if (link.ready && !link.session.features.has(Feature.LIST)) {
          return say(notSupported("/list"), "error");
        }
        const step = link.session.list();
        if (!step) {
          return say(
            link.ready ? "a listing is under way" : "not connected: /list needs the server",
            "error",
          );
        }
        link.perform(step);
        say("listing the rooms…");
        break;
      }
      case "topic": {
        if (link.ready && !link.session.features.has(Feature.TOPIC)) {
          return say(notSupported("/topic"), "error");
        }
        if (current?.kind !== "room") return say("/topic works in a room window", "error");
        const ask = a.text === "" && !a.clear;
        const step = link.session.topic(current.target, ask ? undefined : a.text);
        if (!step) return say("not connected: /topic needs the server", "error");
        if (ask) model.topicAsked.add(current.target);
        link.perform(step);
        break;
      }
      default: {
        const never: never = a;
        void never;
      }
    }
  }

  #prefs(p: Prefs): void {
    this.model!.prefs = p;
    this.store?.savePrefs(p);
  }

  /** Shows window `id` and puts the cursor in the input. */
  show(id: string): void {
    if (this.model?.switchTo(id)) {
      this.store?.touch();
      this.#closePanes();
      this.#schedule();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Older history

  /**
   * Asks for `count` messages before the oldest shown in window `w` (a room, or a stored conversation);
   * `again` repeats a request already made.
   */
  #older(w: Win, count: number, again = false): boolean {
    const link = this.link;
    const room = protocolRoom(w);
    const oldest = this.model?.oldestSeq(room);
    // A room's join answers with a FETCHED of its own, which older pages must wait for; a conversation
    // is joined by nobody.
    const ready = w.kind === "room" ? link?.settled(room) : link?.ready;
    if (!link || oldest === undefined || oldest <= 1 || !ready || this.#inflight.has(w.id)) return false;
    if (!again && this.#paging.get(w.id) === oldest) return false;
    const step = link.session.fetchOlder(room, oldest, count);
    if (!step) return false;
    this.#paging.set(w.id, oldest);
    this.#inflight.add(w.id);
    this.model!.olderAsked(w.id, oldest);
    link.perform(step);
    return true;
  }

  /** Scrolled to the top (or the log does not fill the page): fetch what came before. */
  #maybeOlder(): void {
    const w = this.model?.shown;
    if (w && this.dom.log.scrollTop < NEAR_TOP && this.link?.ready) this.#older(w, SCROLL_PAGE);
  }

  // ---------------------------------------------------------------------------------------------
  // Notifications

  #notify(a: Alert): void {
    const N = (globalThis as { Notification?: typeof Notification }).Notification;
    if (!N || N.permission !== "granted") return;
    const n = new N(shown(a.title), { body: shown(a.body), tag: a.window });
    n.onclick = () => {
      globalThis.focus();
      this.show(a.window);
      n.close();
    };
  }

  #offerNotifications(): void {
    const N = (globalThis as { Notification?: typeof Notification }).Notification;
    this.dom.notify.hidden = !N || N.permission !== "default";
  }

  // ---------------------------------------------------------------------------------------------
  // The page's own events

  #closePanes(): void {
    this.dom.app.classList.remove("show-rooms", "show-members");
    this.dom.menu.setAttribute("aria-expanded", "false");
    this.dom.people.setAttribute("aria-expanded", "false");
  }

  #togglePane(cls: string, button: HTMLButtonElement): void {
    const on = !this.dom.app.classList.contains(cls);
    this.#closePanes();
    if (on) this.dom.app.classList.add(cls);
    button.setAttribute("aria-expanded", String(on));
  }

  #listen(): void {
    const d = this.dom;
    const doc = this.env.doc;
    d.signinForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#submitSignin();
    });
    d.compose.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#send();
    });
    d.input.addEventListener("keydown", (ev) => this.#inputKey(ev));
    d.input.addEventListener("input", () => {
      this.#completion = null;
      this.#fit();
    });
    d.roomList.addEventListener("click", (ev) => {
      const b = (ev.target as Element).closest("button");
      if (b?.dataset.window) {
        this.show(b.dataset.window);
        d.input.focus();
      }
    });
    d.log.addEventListener("scroll", () => this.#maybeOlder(), { passive: true });
    d.older.addEventListener("click", () => {
      const w = this.model?.shown;
      if (w) this.#older(w, SCROLL_PAGE, true);
    });
    d.signout.addEventListener("click", () => this.#leave("signed out"));
    d.menu.addEventListener("click", () => this.#togglePane("show-rooms", d.menu));
    d.people.addEventListener("click", () => this.#togglePane("show-members", d.people));
    d.notify.addEventListener("click", () => {
      Notification.requestPermission().finally(() => this.#offerNotifications());
    });
    this.#offerNotifications();
    doc.addEventListener("keydown", (ev) => this.#globalKey(ev));
    doc.addEventListener("visibilitychange", () => {
      if (this.#looking()) this.#schedule();
      else if (this.store?.dirty) this.store.flush();
    });
    globalThis.addEventListener("pagehide", () => {
      if (this.store) this.store.flush();
    });
    d.switcherInput.addEventListener("input", () => this.#finderList());
    d.switcherInput.addEventListener("keydown", (ev) => this.#finderKey(ev));
    d.switcherList.addEventListener("click", (ev) => {
      const li = (ev.target as Element).closest("li");
      if (li?.dataset.window) this.#finderPick(li.dataset.window);
    });
  }

  #send(): void {
    const d = this.dom;
    const text = d.input.value;
    if (text.trim() !== "") {
      this.#sent.push(text);
      if (this.#sent.length > 100) this.#sent.shift();
    }
    this.#recall = -1;
    d.input.value = "";
    this.#fit();
    this.submit(text);
  }

  /** Grows the input with its lines, up to the CSS maximum. */
  #fit(): void {
    const t = this.dom.input;
    t.style.height = "auto";
    t.style.height = `${t.scrollHeight + 2}px`;
  }

  #inputKey(ev: KeyboardEvent): void {
    const d = this.dom;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.altKey && !ev.isComposing) {
      ev.preventDefault();
      this.#send();
      return;
    }
    if (ev.key === "Tab" && !ev.ctrlKey && !ev.altKey && this.#complete(ev.shiftKey)) {
      ev.preventDefault();
      return;
    }
    // Up and Down alone: with Alt they show the previous or next window (#globalKey), with Ctrl or Cmd they
    // are the browser's.
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "ArrowUp" && (d.input.value === "" || this.#recall >= 0) && this.#sent.length > 0) {
      ev.preventDefault();
      this.#recall = this.#recall < 0 ? this.#sent.length - 1 : Math.max(0, this.#recall - 1);
      d.input.value = this.#sent[this.#recall];
    } else if (ev.key === "ArrowDown" && this.#recall >= 0) {
      ev.preventDefault();
      this.#recall++;
      d.input.value = this.#recall < this.#sent.length ? this.#sent[this.#recall] : "";
      if (this.#recall >= this.#sent.length) this.#recall = -1;
    }
  }

  /** Tab: completes a command, a name or a room at the cursor; false when there is nothing to complete. */
  #complete(backwards: boolean): boolean {
    const model = this.model;
    const link = this.link;
    if (!model || !link) return false;
    const t = this.dom.input;
    const input: CompletionInput = { text: t.value, cursor: t.selectionStart ?? t.value.length };
    const w = model.shown;
    const here = w?.kind === "room" ? link.session.members(w.target) : w ? [w.target] : [];
    const peers = model.windows.filter((x) => x.kind === "dm").map((x) => x.target);
    const nicks = [...here, ...peers].filter((n, i, all) =>
      nameKey(n) !== nameKey(model.me) && all.findIndex((m) => nameKey(m) === nameKey(n)) === i
    );
    const before = input.text.slice(0, input.cursor).replace(/\S*$/, "");
    const kind = argumentKind(before);
    const rooms = link.session.rooms;
    const c = complete(input, this.#completion, {
      commands: commandNames(),
      nicks: kind === "room" ? rooms : nicks,
      rooms,
    }, backwards);
    if (!c) return false;
    this.#completion = c;
    t.value = c.result.text;
    t.setSelectionRange(c.result.cursor, c.result.cursor);
    return true;
  }

  #globalKey(ev: KeyboardEvent): void {
    const model = this.model;
    if (!model || this.dom.app.hidden) return;
    const s = shortcut(ev);
    if (!s) return;
    ev.preventDefault();
    switch (s.kind) {
      case "window": {
        const w = model.windows[s.index];
        if (w) this.show(w.id);
        break;
      }
      case "step": {
        const i = model.windows.findIndex((w) => w.id === model.shown?.id);
        const n = model.windows.length;
        if (n > 0) this.show(model.windows[(i + s.by + n) % n].id);
        break;
      }
      case "finder":
        this.#finderOpen();
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ctrl-K: find a window by typing part of its name

  #finderOpen(): void {
    const d = this.dom;
    if (d.switcher.open) return;
    d.switcherInput.value = "";
    this.#finderList();
    d.switcher.showModal();
    d.switcherInput.focus();
  }

  #finderList(): void {
    const d = this.dom;
    const model = this.model;
    if (!model) return;
    const found = findWindows(
      model.windows.map((w) => ({ id: w.id, title: title(w) })),
      d.switcherInput.value,
    );
    d.switcherList.replaceChildren(...found.map((w, i) => {
      const li = this.env.doc.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.window = w.id;
      li.textContent = shown(w.title);
      li.setAttribute("aria-selected", String(i === 0));
      return li;
    }));
  }

  #finderKey(ev: KeyboardEvent): void {
    const items = [...this.dom.switcherList.querySelectorAll("li")];
    const at = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (items.length === 0) return;
      const next = (at + (ev.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((li, i) => li.setAttribute("aria-selected", String(i === next)));
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      const id = items[Math.max(0, at)]?.dataset.window;
      if (id) this.#finderPick(id);
      else this.dom.switcher.close();
    }
  }

  #finderPick(id: string): void {
    this.dom.switcher.close();
    this.show(id);
    this.dom.input.focus();
  }
}
