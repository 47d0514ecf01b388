/**
 * The committed browser-client assets (src/web/assets_gen.ts): up to date
 * with src/web/, within the page weight budget, and fit for the strict CSP
 * the server sends (no inline script or style, no handler attributes, no
 * eval, nothing from another origin).
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { WEB_ASSETS } from "../../src/web/assets_gen.ts";
import {
  BUDGET_GZIP_BYTES,
  buildWeb,
  etagOf,
  minifyHtml,
  PAGE_PATHS,
  pageWeight,
  prepare,
  renderModule,
} from "../../scripts/build_web.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("the committed web assets are what `deno task build:web` makes from src/web/ now", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-web-build-" });
  try {
    // Built and written to a module of its own, then read back through the module as the server would.
    const file = `${dir}/assets_gen.ts`;
    await Deno.writeTextFile(file, renderModule(await prepare(await buildWeb())));
    const fresh: typeof WEB_ASSETS = (await import(`file://${file}`)).WEB_ASSETS;
    assert.deepEqual([...WEB_ASSETS.keys()], [...fresh.keys()]);
    for (const [path, built] of fresh) {
      const committed = WEB_ASSETS.get(path)!;
      const stale = `${path} in src/web/assets_gen.ts is stale: run \`deno task build:web\` and commit it`;
      assert.equal(committed.type, built.type, stale);
      assert.ok(decode(committed.body) === decode(built.body), stale);
      assert.equal(committed.etag, built.etag, stale);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every web asset's gzip form and ETag belong to its body", async () => {
  for (const [path, a] of WEB_ASSETS) {
    assert.ok(a.gzip, `${path} has a gzip form`);
    assert.deepEqual(new Uint8Array(gunzipSync(a.gzip)), a.body, `${path}: gzip decompresses to the body`);
    assert.equal(a.etag, await etagOf(a.body), path);
    assert.match(a.etag, /^"[0-9a-f]{32}"$/);
  }
});

Deno.test("the page (HTML, JS and CSS gzipped) stays under its 60 KB budget", () => {
  const weight = pageWeight(WEB_ASSETS);
  const parts = PAGE_PATHS.map((p) => `${p} ${WEB_ASSETS.get(p)!.gzip!.byteLength} B`).join(", ");
  console.log(`page weight: ${weight} B gzipped of ${BUDGET_GZIP_BYTES} B (${parts})`);
  assert.ok(weight < BUDGET_GZIP_BYTES, `${weight} B gzipped is over the budget of ${BUDGET_GZIP_BYTES} B`);
});

Deno.test("the page has no inline script or style and loads nothing from another origin", () => {
  const html = decode(WEB_ASSETS.get("/")!.body);
  assert.match(html, /<script type="module" src="\/app\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/app\.css">/);
  for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
    assert.equal(m[1], "", "no inline script");
  }
  assert.doesNotMatch(html, /<style\b/i, "no inline style element");
  assert.doesNotMatch(html, /\sstyle=/i, "no style attribute");
  assert.doesNotMatch(html, /\son[a-z]+=/i, "no handler attribute");
  assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//i, "nothing from another origin");
  const js = decode(WEB_ASSETS.get("/app.js")!.body);
  assert.doesNotMatch(js, /\beval\(|new Function\(/, "no eval: script-src 'self' has no 'unsafe-eval'");
  assert.doesNotMatch(
    js,
    /\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=/,
    "nothing is ever put in as markup",
  );
  const css = decode(WEB_ASSETS.get("/app.css")!.body);
  assert.doesNotMatch(css, /@import|url\((?!["']?data:)/, "the style sheet loads nothing");
});

Deno.test("minifyHtml() takes out the whitespace between tags and the line breaks inside them", () => {
  assert.equal(
    minifyHtml('<ul>\n  <li\n    class="a">x y</li>\n</ul>\n'),
    '<ul><li class="a">x y</li></ul>',
  );
});
