import assert from "node:assert/strict";
import type { HttpRequest } from "../../src/net/http.ts";
import { acceptsGzip, CONTENT_SECURITY_POLICY, route, type RouteContext } from "../../src/net/web_routes.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function request(path: string, headers: Record<string, string> = {}, method = "GET"): HttpRequest {
  return {
    method,
    target: path,
    path: path.split("?")[0],
    minor: 1,
    headers: new Map(Object.entries(headers)),
  };
}

const CTX: RouteContext = {
  assets: new Map([
    ["/", { type: "text/html; charset=utf-8", body: enc("<p>page</p>"), gzip: enc("GZ"), etag: "abc" }],
    ["/app.css", { type: "text/css", body: enc("p{}"), etag: '"quoted"' }],
  ]),
  health: () => null,
  metrics: () => "chat_up 1\n",
};

const field = (fields: ReadonlyArray<readonly [string, string]>, name: string) =>
  fields.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

Deno.test("route() serves an asset with its type and ETag, gzipped only when the client accepts gzip", () => {
  const plain = route(request("/"), CTX);
  assert.equal(plain.status, 200);
  assert.equal(field(plain.fields, "Content-Type"), "text/html; charset=utf-8");
  assert.equal(field(plain.fields, "ETag"), '"abc"');
  assert.equal(field(plain.fields, "Vary"), "Accept-Encoding");
  assert.equal(field(plain.fields, "Content-Encoding"), undefined);
  assert.equal(new TextDecoder().decode(plain.body), "<p>page</p>");
  const gz = route(request("/", { "accept-encoding": "br, gzip;q=0.8" }), CTX);
  assert.equal(field(gz.fields, "Content-Encoding"), "gzip");
  assert.equal(field(gz.fields, "ETag"), '"abc-gzip"', "each encoding has its own strong validator");
  assert.deepEqual(gz.body, enc("GZ"));
  const css = route(request("/app.css", { "accept-encoding": "gzip" }), CTX);
  assert.equal(field(css.fields, "Content-Encoding"), undefined, "no gzip variant: identity");
  assert.equal(field(css.fields, "ETag"), '"quoted"');
  assert.equal(field(css.fields, "Vary"), undefined);
});

Deno.test("route() answers 304 without a body when If-None-Match holds the current tag", () => {
  for (const inm of ['"abc"', 'W/"abc"', '"old", "abc"', "*"]) {
    const r = route(request("/", { "if-none-match": inm }), CTX);
    assert.equal(r.status, 304, inm);
    assert.equal(r.body.byteLength, 0);
    assert.equal(field(r.fields, "ETag"), '"abc"');
  }
  assert.equal(route(request("/", { "if-none-match": '"abc"', "accept-encoding": "gzip" }), CTX).status, 200);
  assert.equal(
    route(request("/", { "if-none-match": '"abc-gzip"', "accept-encoding": "gzip" }), CTX).status,
    304,
  );
});

Deno.test("route() answers /healthz 200 or 503 and /metrics in the Prometheus content type", () => {
  const ok = route(request("/healthz"), CTX);
  assert.deepEqual([ok.status, new TextDecoder().decode(ok.body)], [200, "ok\n"]);
  const down = route(request("/healthz"), { ...CTX, health: () => "shutting down" });
  assert.deepEqual([down.status, new TextDecoder().decode(down.body)], [503, "shutting down\n"]);
  const m = route(request("/metrics?x=1"), CTX);
  assert.equal(field(m.fields, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(new TextDecoder().decode(m.body), "chat_up 1\n");
});

Deno.test("route() answers 404 for an unknown path and 405 with Allow for other methods", () => {
  assert.equal(route(request("/nope"), CTX).status, 404);
  assert.equal(route(request("/index.html"), CTX).status, 404);
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]) {
    const r = route(request("/", {}, method), CTX);
    assert.equal(r.status, 405, method);
    assert.equal(field(r.fields, "Allow"), "GET, HEAD");
  }
  assert.equal(route(request("/", {}, "HEAD"), CTX).status, 200);
});

Deno.test("acceptsGzip() honours q=0 and the * coding", () => {
  assert.ok(acceptsGzip("gzip, deflate, br"));
  assert.ok(acceptsGzip("GZIP"));
  assert.ok(acceptsGzip("*"));
  assert.ok(!acceptsGzip("gzip;q=0"));
  assert.ok(!acceptsGzip("br"));
  assert.ok(!acceptsGzip(undefined));
  assert.ok(!acceptsGzip("*, gzip;q=0"), "a named q=0 beats *");
});

Deno.test("the Content-Security-Policy allows only the page's own script, style and WebSocket", () => {
  const d = new Map(
    CONTENT_SECURITY_POLICY.split(";").map((s) => {
      const [k, ...v] = s.trim().split(" ");
      return [k, v.join(" ")];
    }),
  );
  assert.equal(d.get("default-src"), "'none'");
  assert.equal(d.get("script-src"), "'self'");
  assert.equal(d.get("style-src"), "'self'");
  assert.equal(d.get("connect-src"), "'self'");
  assert.equal(d.get("frame-ancestors"), "'none'");
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|https?:|\*/);
});
