/**
 * Draws the {@linkcode Model} into the page. Everything that came from the
 * network is put in with `textContent` (after sanitize(), which makes
 * terminal controls and bidi overrides visible and inert), never as markup:
 * no received byte can become an element, an attribute or a script.
 *
 * The message log is kept, not redrawn: each line's element is made once
 * and reused while the line is unchanged (its `rev`), and a render only
 * moves, adds and removes what differs, so the scroll position holds and a
 * long window costs little.
 *
 * @module
 */

import { clock } from "../client/clock.ts";
import { nameColour } from "../client/colour.ts";
import type { StatusEvent } from "../client/events.ts";
import { nameKey } from "../protocol/names.ts";
import { sanitize } from "../text/sanitize.ts";
import { type Line, type Model, title, type Win } from "./model.ts";

/** The elements of index.html the page draws into and listens to. */
export interface Dom {
  signin: HTMLElement;
  signinForm: HTMLFormElement;
  name: HTMLInputElement;
  passwordRow: HTMLElement;
  password: HTMLInputElement;
  signinError: HTMLElement;
  app: HTMLElement;
  windowTitle: HTMLElement;
  status: HTMLElement;
  notify: HTMLButtonElement;
  menu: HTMLButtonElement;
  people: HTMLButtonElement;
  signout: HTMLButtonElement;
  roomList: HTMLElement;
  log: HTMLElement;
  older: HTMLButtonElement;
  compose: HTMLFormElement;
  input: HTMLTextAreaElement;
  members: HTMLElement;
  membersTitle: HTMLElement;
  switcher: HTMLDialogElement;
  switcherInput: HTMLInputElement;
  switcherList: HTMLElement;
}

function el<T extends HTMLElement>(doc: Document, id: string): T {
  const found = doc.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
}

export function bindDom(doc: Document): Dom {
  return {
    signin: el(doc, "signin"),
    signinForm: el(doc, "signin-form"),
    name: el(doc, "name"),
    passwordRow: el(doc, "password-row"),
    password: el(doc, "password"),
    signinError: el(doc, "signin-error"),
    app: el(doc, "app"),
    windowTitle: el(doc, "window-title"),
    status: el(doc, "status"),
    notify: el(doc, "notify"),
    menu: el(doc, "menu"),
    people: el(doc, "people"),
    signout: el(doc, "signout"),
    roomList: el(doc, "room-list"),
    log: el(doc, "log"),
    older: el(doc, "older"),
    compose: el(doc, "compose"),
    input: el(doc, "input"),
    members: el(doc, "members"),
    membersTitle: el(doc, "members-title"),
    switcher: el(doc, "switcher"),
    switcherInput: el(doc, "switcher-input"),
    switcherList: el(doc, "switcher-list"),
  };
}

/** Received text made safe to show: controls and bidi overrides visible, newlines kept. */
export function shown(text: string): string {
  return sanitize(text, { keepNewlines: true });
}

/** A new element with a class and (untrusted) text, put in as text. */
function span(doc: Document, cls: string, text: string, tag = "span"): HTMLElement {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  e.textContent = text;
  return e;
}

/** What the status region says about the connection. */
export function statusText(s: StatusEvent | null): string {
  if (!s) return "not connected";
  switch (s.state) {
    case "connecting":
      return "connecting…";
    case "connected":
      return "connected";
    case "reconnecting":
      return `offline: reconnecting in ${Math.ceil((s.delayMs ?? 0) / 1000)} s (attempt ${s.attempt})`;
    case "disconnected":
      return s.reason === "quit" ? "signed out" : `disconnected: ${s.reason ?? ""}`;
  }
}

/** The state a message of ours shows after its text. */
function deliveryText(l: Line): string {
  if (l.delivery === "pending") return "(sending…)";
  if (l.delivery === "refused") return `(not delivered: ${l.error ?? "refused"})`;
  return "";
}

export class View {
  readonly dom: Dom;
  readonly #doc: Document;
  #elements = new Map<string, { rev: number; el: HTMLElement }>();
  #logOf = "";

  constructor(doc: Document, dom: Dom) {
    this.#doc = doc;
    this.dom = dom;
  }

  /** Draws everything that may have changed. `members` lists the current room's members. */
  render(model: Model, members: readonly string[]): void {
    const w = model.shown;
    if (model.dirty) {
      this.#windows(model);
      this.#members(model, w, members);
      // A reason may be the server's (a kick's, a ban's): received text, shown as the log shows it.
      this.dom.status.textContent = shown(statusText(model.status));
      const online = model.status?.state === "connected";
      this.dom.status.className = `status ${online ? "online" : "offline"}`;
      model.dirty = false;
    }
    // A room's topic follows its name, on one line, as text.
    const topic = w?.kind === "room" && w.topic ? ` \u2014 ${w.topic}` : "";
    this.dom.windowTitle.textContent = w ? shown(title(w) + topic) : "";
    this.#log(w);
  }

  #windows(model: Model): void {
    const doc = this.#doc;
    const items = model.windows.map((w, i) => {
      const li = doc.createElement("li");
      const b = doc.createElement("button");
      b.type = "button";
      b.dataset.window = w.id;
      if (w.id === model.shown?.id) b.setAttribute("aria-current", "page");
      if (i < 9) b.append(span(doc, "num", String(i + 1)));
      b.append(span(doc, "name", shown(title(w))));
      if (w.unread > 0) {
        const badge = span(
          doc,
          w.highlight ? "unread hot" : "unread",
          `${w.unread}${w.highlight ? "!" : ""}`,
        );
        badge.title = w.highlight
          ? `${w.unread} unread, ${w.kind === "dm" ? "direct message" : "mentions you"}`
          : `${w.unread} unread`;
        b.append(badge);
      }
      li.append(b);
      return li;
    });
    this.dom.roomList.replaceChildren(...items);
  }

  #members(model: Model, w: Win | undefined, members: readonly string[]): void {
    const doc = this.#doc;
    if (!w || w.kind === "dm") {
      this.dom.membersTitle.textContent = w ? "Direct message" : "Members";
      const who = w ? [w.target, model.me] : [];
      this.dom.members.replaceChildren(...who.map((n) => this.#member(model, n)));
      return;
    }
    if (w.quiet !== undefined) {
      this.dom.membersTitle.textContent = `Members (${w.quiet}, quiet room)`;
      this.dom.members.replaceChildren(span(doc, "away", "too many to list", "li"));
      return;
    }
    this.dom.membersTitle.textContent = `Members (${members.length})`;
    this.dom.members.replaceChildren(...members.map((n) => this.#member(model, n)));
  }

  #member(model: Model, name: string): HTMLElement {
    const li = this.#doc.createElement("li");
    li.append(span(this.#doc, `c${nameColour(name)}`, shown(name)));
    const away = model.away.get(nameKey(name));
    if (away) li.append(span(this.#doc, "away", `away: ${shown(away)}`));
    return li;
  }

  #log(w: Win | undefined): void {
    const log = this.dom.log;
    const switched = this.#logOf !== (w?.id ?? "");
    if (switched) {
      this.#elements.clear();
      log.replaceChildren();
      this.#logOf = w?.id ?? "";
    }
    const lines = w?.lines ?? [];
    const atBottom = switched || log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const first = log.firstElementChild;
    const height = log.scrollHeight;
    const top = log.scrollTop;
    const keep = new Set<string>();
    let child = log.firstElementChild;
    for (const line of lines) {
      keep.add(line.key);
      let known = this.#elements.get(line.key);
      if (!known || known.rev !== line.rev) {
        const made = this.#line(line);
        if (known) known.el.replaceWith(made);
        if (known && known.el === child) child = made;
        known = { rev: line.rev, el: made };
        this.#elements.set(line.key, known);
      }
      if (known.el === child) child = child.nextElementSibling;
      else log.insertBefore(known.el, child);
    }
    while (child) {
      const next = child.nextElementSibling;
      child.remove();
      child = next;
    }
    for (const key of this.#elements.keys()) if (!keep.has(key)) this.#elements.delete(key);
    if (atBottom) log.scrollTop = log.scrollHeight;
    else if (first && first.isConnected && log.firstElementChild !== first) {
      // Older messages came in above: keep what was being read where it was.
      log.scrollTop = top + (log.scrollHeight - height);
    }
  }

  /** One line of the log, every received piece as text. */
  #line(l: Line): HTMLElement {
    const doc = this.#doc;
    const p = doc.createElement("p");
    const classes: string[] = [l.kind];
    if (l.action) classes.push("action");
    if (l.mine) classes.push("mine");
    if (l.mention) classes.push("mention");
    if (l.delivery && l.delivery !== "delivered") classes.push(l.delivery);
    p.className = classes.join(" ");
    const t = doc.createElement("time");
    const d = new Date(l.ts);
    t.dateTime = d.toISOString();
    t.title = d.toLocaleString();
    t.textContent = clock(l.ts);
    p.append(t);
    if (l.kind === "chat" && l.from !== undefined) {
      p.append(span(doc, `from c${nameColour(l.from)}`, shown(l.from)));
    } else if (l.kind === "event") {
      p.append(span(doc, "", "— "));
    } else if (l.kind === "error") {
      p.append(span(doc, "", "! "));
    }
    p.append(span(doc, "text", shown(l.text)));
    const state = deliveryText(l);
    if (state) p.append(span(doc, "state", shown(state)));
    return p;
  }
}
