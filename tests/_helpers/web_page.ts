/**
 * The browser client as a person uses it, for tests: sign in, type, switch
 * windows, and read what the page shows, all through the accessible roles
 * and names the page promises (the log, the `Message` textbox, the `Rooms`
 * navigation, the `Members` list, the `status` region). Waits poll the page
 * until a deadline and fail saying what the page showed instead.
 *
 * @module
 */

import type { Page } from "npm:playwright-core@1.65.2";
import { WAIT_MS } from "./deadline.ts";

/** How often a wait looks at the page again. */
const POLL_MS = 25;

/** Waits until `check()` returns a value (not undefined), polling; fails with `shown()` after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  shown: () => Promise<string>,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${what}; the page shows:\n${await shown()}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** One person's page. */
export class WebUser {
  readonly page: Page;
  readonly name: string;

  constructor(page: Page, name: string) {
    this.page = page;
    this.name = name;
  }

  /**
   * Opens `url` and signs in as `name`. With a `password`, as a person would: Join, then the password in
   * the Password box the refusal brings up, and Join again.
   */
  static async signIn(page: Page, url: string, name: string, password?: string): Promise<WebUser> {
    const u = new WebUser(page, name);
    await page.goto(url);
    await page.getByRole("textbox", { name: "Name" }).fill(name);
    await page.getByRole("button", { name: "Join" }).click();
    if (password !== undefined) {
      await page.getByLabel("Password", { exact: true }).fill(password, { timeout: WAIT_MS });
      await page.getByRole("button", { name: "Join" }).click();
    }
    await u.connected();
    return u;
  }

  /** The message textbox. */
  get input() {
    return this.page.getByRole("textbox", { name: "Message" });
  }

  /** Types `text` and presses Enter. */
  async say(text: string): Promise<void> {
    await this.input.fill(text);
    await this.input.press("Enter");
  }

  /** What the status region says. */
  status(): Promise<string> {
    return this.page.getByRole("status").innerText();
  }

  /** Waits until the status region says "connected". */
  async connected(timeoutMs = WAIT_MS): Promise<void> {
    await this.until(
      "the status to say connected",
      async () => (await this.status()) === "connected" || undefined,
      timeoutMs,
    );
  }

  /** The text of every chat line in the window shown (the message only, without time or sender). */
  texts(): Promise<string[]> {
    return this.page.getByRole("log").locator("p.chat .text").allInnerTexts();
  }

  /** Every line of the window shown, as the page shows it. */
  async lines(): Promise<string[]> {
    return (await this.page.getByRole("log").locator("p").allInnerTexts()).map((t) => t.replace(/\s+/g, " "));
  }

  /** Waits until the window shown has a chat line whose text is `text`. */
  async sees(text: string, timeoutMs = WAIT_MS): Promise<void> {
    await this.until(
      `a line "${text}"`,
      async () => (await this.texts()).includes(text) || undefined,
      timeoutMs,
    );
  }

  /** Clicks the window called `title` (`#dev`, `@bob`) in the Rooms navigation. */
  async open(title: string): Promise<void> {
    await this.rooms().getByRole("button", { name: new RegExp(`${escape(title)}(\\s|$)`) }).click();
    await this.until(
      `window ${title} to be shown`,
      async () => (await this.page.locator("#window-title").innerText()) === title || undefined,
    );
  }

  /** The Rooms navigation. */
  rooms() {
    return this.page.getByRole("navigation", { name: "Rooms" });
  }

  /** The entries of the Rooms navigation, as shown ("1 #lobby", "2 #dev 3!"). */
  async windows(): Promise<string[]> {
    return (await this.rooms().getByRole("button").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
  }

  /** The Members list, as shown. */
  async members(): Promise<string[]> {
    return (await this.page.getByRole("list", { name: "Members" }).getByRole("listitem").allInnerTexts())
      .map((t) => t.replace(/\s+/g, " ").trim());
  }

  /** Waits until `check()` gives a value; fails showing the page's status, windows and lines. */
  until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
    return until(`${what} on ${this.name}'s page`, check, () => this.describe(), timeoutMs);
  }

  async describe(): Promise<string> {
    try {
      return [
        `status: ${await this.status()}`,
        `windows: ${(await this.windows()).join(" | ")}`,
        ...(await this.lines()).map((l) => `  ${l}`),
      ].join("\n");
    } catch (err) {
      return `(cannot read the page: ${(err as Error).message})`;
    }
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
