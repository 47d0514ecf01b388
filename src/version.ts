/** The program version: the one place it is written, checked against deno.json by a test. */
export const VERSION = "0.1.0";
