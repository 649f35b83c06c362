/** What the client's promises reject with. */

import type { Frame } from "./types.js";

/** The token was refused at the handshake (HTTP 401/403): get a new one. */
export class AuthError extends Error {
  override name = "AuthError";
  constructor(readonly status?: number) {
    super(`handshake refused${status === undefined ? "" : `: ${status}`}`);
  }
}

/** The server answered a request with an `error` frame (`code` says which). */
export class RequestError extends Error {
  override name = "RequestError";
  readonly code: string;
  constructor(readonly frame: Frame) {
    const code = typeof frame.code === "string" ? frame.code : "unknown";
    super(`${code}: ${typeof frame.message === "string" ? frame.message : ""}`);
    this.code = code;
  }
}

/** No connection to the server (or it closed, or a reply did not come in time). Requests
 * that need the server now (recall, edit, mute, receipts, presence) are not queued. */
export class NotConnectedError extends Error {
  override name = "NotConnectedError";
}
