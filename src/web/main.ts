/**
 * The entry point of the browser client's bundle (app.js): starts the page
 * once the document is parsed. Everything else is in app.ts.
 *
 * @module
 */

import { App, pageEnv } from "./app.ts";

new App(pageEnv()).boot();
