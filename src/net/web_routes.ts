/**
 * The HTTP routes of the chat port, as values: a request in, a response
 * out. The web client's files come from an asset map the build generates
 * (src/web/assets_gen.ts, passed in by the CLI: net/ does not import web/);
 * `/healthz` and `/metrics` ask the server. Every response carries the same
 * security headers: the page may load only its own script and style and
 * open only its own WebSocket.
 *
 * @module
 */

import { type HttpRequest, listOf } from "./http.ts";
import { METRICS_TYPE } from "./metrics.ts";

/** One file of the web client, as the build generates it. */
export interface WebAsset {
  /** Content-Type. */
  readonly type: string;
  readonly body: Uint8Array;
  /** The same bytes gzipped, when the build made them. */
  readonly gzip?: Uint8Array;
  /** A validator that changes whenever `body` does. */
  readonly etag: string;
}

/** The web client's files by URL path ("/", "/app.js", ...). */
export type WebAssets = ReadonlyMap<string, WebAsset>;

/** A response: status, header fields in order, body (sent for GET, not for HEAD). */
export interface Reply {
  status: number;
  fields: Array<readonly [string, string]>;
  body: Uint8Array;
}

/**
 * The page's Content-Security-Policy: its own script, style and WebSocket,
 * images of its own or inline data, nothing else; no framing, no <base>,
 * no form posts.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; " +
  "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Sent with every response, the page's and the errors' alike. */
export const SECURITY_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["Content-Security-Policy", CONTENT_SECURITY_POLICY],
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
  ["X-Frame-Options", "DENY"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
];

const TEXT = "text/plain; charset=utf-8";

/** What the routes ask of the server. */
export interface RouteContext {
  assets: WebAssets;
  /** Null while the server accepts clients, else why not (the /healthz body). */
  health(): string | null;
  /** The /metrics page. */
  metrics(): string;
}

/** A plain-text response. */
export function textReply(status: number, text: string, extra: Array<readonly [string, string]> = []): Reply {
  return reply(status, TEXT, new TextEncoder().encode(text.endsWith("\n") ? text : `${text}\n`), [
    ["Cache-Control", "no-store"],
    ...extra,
  ]);
}

function reply(
  status: number,
  type: string,
  body: Uint8Array,
  fields: Array<readonly [string, string]>,
): Reply {
  return { status, fields: [["Content-Type", type], ...fields], body };
}

/** Answers a GET or HEAD of anything but the WebSocket endpoint; other methods get 405. */
export function route(req: HttpRequest, ctx: RouteContext): Reply {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return textReply(405, `${req.method} is not allowed here: this server answers GET and HEAD`, [[
      "Allow",
      "GET, HEAD",
    ]]);
  }
  switch (req.path) {
    case "/healthz": {
      const problem = ctx.health();
      return problem === null ? textReply(200, "ok") : textReply(503, problem);
    }
    case "/metrics":
      return reply(200, METRICS_TYPE, new TextEncoder().encode(ctx.metrics()), [[
        "Cache-Control",
        "no-store",
      ]]);
  }
  const asset = ctx.assets.get(req.path);
  if (asset === undefined) return textReply(404, `nothing at ${req.path.slice(0, 200)}`);
  return assetReply(req, asset);
}

/** An asset, gzipped when the client accepts it, or 304 when the client's copy is current. */
function assetReply(req: HttpRequest, asset: WebAsset): Reply {
  const identity = quoted(asset.etag);
  const gzipped = asset.gzip !== undefined && acceptsGzip(req.headers.get("accept-encoding"));
  const etag = gzipped ? `${identity.slice(0, -1)}-gzip"` : identity;
  const fields: Array<readonly [string, string]> = [["ETag", etag], ["Cache-Control", "no-cache"]];
  if (asset.gzip !== undefined) fields.push(["Vary", "Accept-Encoding"]);
  if (matches(req.headers.get("if-none-match"), etag)) {
    return { status: 304, fields, body: new Uint8Array(0) };
  }
  if (gzipped) fields.push(["Content-Encoding", "gzip"]);
  return reply(200, asset.type, gzipped ? asset.gzip! : asset.body, fields);
}

/** An entity tag in its quoted form, whatever form the build gave it in. */
function quoted(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag.replace(/^W\//, "") : `"${etag}"`;
}

/** If-None-Match holds `etag` (weakly compared, as RFC 9110 asks for this field) or is "*". */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

/** True when Accept-Encoding allows gzip (named, or "*", with a q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  let gzip: number | undefined;
  let star: number | undefined;
  for (const item of listOf(header)) {
    const [coding, ...params] = item.split(";").map((s) => s.trim());
    const q = params.find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (coding === "gzip" || coding === "x-gzip") gzip = weight;
    else if (coding === "*") star = weight;
  }
  const w = gzip ?? star ?? 0;
  return Number.isFinite(w) && w > 0;
}
