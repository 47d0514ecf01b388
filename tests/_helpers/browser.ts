/**
 * A real browser for the browser-client tests: Debian's Chromium
 * (/usr/bin/chromium; scripts/test_deps.sh installs it) driven by playwright-core, which
 * downloads no browser of its own. Each {@linkcode Browser} is a fresh
 * headless Chromium; closing it (`await using`) ends the process.
 *
 * The flags keep Chromium from opening connections of its own (component
 * updates, sync, QUIC probes): they would be refused on this network and
 * only slow the tests.
 *
 * @module
 */

import fs from "node:fs";
import type { Browser as PwBrowser, BrowserContext, Page } from "npm:playwright-core@1.65.2";

// playwright-core asks at import whether it runs under WSL by testing for /proc/sys/fs/binfmt_misc/WSLInterop,
// a path Deno lets only --allow-all read (the test task grants read, not all). Nothing under /proc/sys
// matters to it otherwise, so that one question is answered "no" here, before the import.
const existsSync = fs.existsSync;
fs.existsSync = (path: fs.PathLike) => String(path).startsWith("/proc/sys/") ? false : existsSync(path);
const { chromium } = await import("npm:playwright-core@1.65.2");

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Whether Chromium is installed. */
export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

export interface PageOptions {
  /** "light" or "dark": what prefers-color-scheme says. */
  colorScheme?: "light" | "dark";
  viewport?: { width: number; height: number };
}

/**
 * One Chromium process. Playwright gives it a fresh profile directory of its
 * own (and removes it on close); each {@linkcode page} opens in a context of
 * its own, with its own storage, like a separate browser profile: two pages
 * are two people.
 */
export class Browser implements AsyncDisposable {
  readonly browser: PwBrowser;
  /** Messages the pages logged to their console, and uncaught errors, for failure messages. */
  readonly console: string[] = [];
  #pages = 0;

  private constructor(browser: PwBrowser) {
    this.browser = browser;
  }

  static async launch(): Promise<Browser> {
    if (!haveChromium()) {
      throw new Error(
        `${CHROMIUM} is missing: the browser tests need Debian's chromium (deno task test installs it)`,
      );
    }
    return new Browser(
      await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS], timeout: 30_000 }),
    );
  }

  /** A new page in a new context, whose console and errors are recorded. */
  async page(options: PageOptions = {}): Promise<Page> {
    const context: BrowserContext = await this.browser.newContext({
      colorScheme: options.colorScheme ?? "light",
      viewport: options.viewport ?? { width: 1100, height: 700 },
    });
    const page = await context.newPage();
    const n = ++this.#pages;
    page.on("console", (m) => this.console.push(`[page ${n}] ${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => this.console.push(`[page ${n}] error: ${e.message}`));
    return page;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.browser.close();
  }
}
