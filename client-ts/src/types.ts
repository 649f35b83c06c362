/** The SDK's public types: frames, messages, conversations, events and options. */

import type { Store } from "./store.js";

/** A frame as it goes over the wire: one JSON object. */
export type Frame = Record<string, unknown>;

/** A message the server numbered (held by this device). `sentAt` is the frame's `ts`. */
export interface SentMessage {
  pending?: false;
  channel: string;
  seq: number;
  messageId: string;
  from: string;
  /** `undefined` for a recalled message: its body is erased for good. */
  body: unknown;
  sentAt: number;
  mentions?: string[];
  recalled?: boolean;
  /** When it was last edited (absent if never). */
  editedAt?: number;
  /** 0 until the first edit; the highest seen is kept. */
  version?: number;
  clientMsgNo?: string;
}

/** A message of this user's still in the outbox: it has no seq until its sendack. */
export interface PendingMessage {
  pending: true;
  channel: string;
  clientMsgNo: string;
  from: string;
  body: unknown;
  mentions?: string[];
  /** When it was put in the outbox (ms since the epoch, this device's clock). */
  createdAt: number;
  seq?: undefined;
  messageId?: undefined;
  sentAt?: undefined;
  recalled?: undefined;
  editedAt?: undefined;
  version?: undefined;
}

/** What `messages()` lists: the held messages in seq order, then the pending ones. */
export type Message = SentMessage | PendingMessage;

export interface Conversation {
  channel: string;
  lastSeq: number;
  readSeq: number;
  unread: number;
  mentions: number;
  muted: boolean;
  /** DMs: how far the other user has read (0 if unknown). */
  peerReadSeq: number;
  /** The newest message held. */
  last?: SentMessage;
}

export interface Presence {
  online: boolean;
  lastSeen?: number;
}

/** Every event the client emits, by type. */
export interface CourierEvents {
  /** Connected and caught up (after every connect). */
  connected: { totalUnread: number };
  disconnected: Record<string, never>;
  /** The token was refused at the handshake (401/403): get a new one. Only seen where the
   * WebSocket implementation reports the HTTP status (Node's `ws`); a browser cannot tell
   * it from a network failure and keeps retrying. */
  auth_failed: { status?: number };
  /** The server no longer holds what the store got from it: the store kept only the outbox
   * (`outbox` entries) and the reads. */
  server_reset: { outbox: number };
  /** A message shown for the first time (a retried frame never makes a second one). */
  message: { channel: string; message: SentMessage };
  sendack: {
    channel: string;
    clientMsgNo: string;
    seq: number;
    messageId: string;
    ts: number;
    duplicate: boolean;
  };
  /** A channel's unread or mentions changed (both derived from the cursors). */
  unread: { channel: string; unread: number; mentions: number; totalUnread: number };
  /** The user's read cursor as the server holds it (this device's read, or another's). */
  read: { channel: string; readSeq: number; unread: number };
  recall: { channel: string; seq: number; messageId?: string };
  edit: {
    channel: string;
    seq: number;
    body: unknown;
    version: number;
    messageId?: string;
    editedAt?: number;
  };
  mute: { channel: string; muted: boolean; totalUnread: number };
  peer_read: { channel: string; peerReadSeq: number };
  typing: { channel: string; user: string };
  /** An `error` frame no request of the caller's was waiting for (e.g. a send refused for
   * good: its outbox entry is dropped, `clientMsgNo` says which), `gateway` for a frame of
   * API Gateway's own, `store` for a failed write to the store. */
  error: { code: string; message?: string; clientMsgNo?: string; channel?: string };
}

/** The part of a WebSocket the client uses: browsers', React Native's and `ws`'s all fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /* eslint-disable @typescript-eslint/no-explicit-any -- each implementation types its own
     event objects; the client reads only `data` (message) and `message` (error) */
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface CourierOptions {
  /** The stack's base URL: `http://127.0.0.1:3001`, `ws://…` or `wss://…/stage`. */
  url: string;
  token: string;
  /** A fresh token for the same user, from the app's server. Called before a connect when
   * the token has expired or expires within a minute (by this device's clock), and once after
   * a refused handshake; without it, an expired token ends in `auth_failed` (or, in a
   * browser, which cannot see the refusal, in retries). */
  refreshToken?: () => Promise<string>;
  /** Where the client keeps its state (default: a `MemoryStore`, lost on restart). */
  store?: Store;
  /** The WebSocket implementation (default: the global `WebSocket`; Node 20 has none). */
  WebSocket?: WebSocketConstructor;
  /** Ping a connection quiet this long (API Gateway cuts it after 10 min idle). */
  pingIntervalMs?: number;
  /** A send without its sendack, or a read without its reply, goes out again after this. */
  resendTimeoutMs?: number;
  /** A request (sync, recall, …) without a reply fails after this. */
  requestTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Check on each connect that the server still holds the store's state (default true). */
  checkServer?: boolean;
  /** The clock (ms) for the typing throttle and resend timers; tests replace it. */
  now?: () => number;
}
