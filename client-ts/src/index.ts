/** Courier's TypeScript client SDK. */

export { CourierClient, MAX_BODY_BYTES } from "./client.js";
export { AuthError, NotConnectedError, RequestError } from "./errors.js";
export { InvalidUserIdsError, MAX_MENTIONS, USER_ID, tokenUser } from "./ids.js";
export { IndexedDbStore, type IndexedDbStoreOptions } from "./indexeddb-store.js";
export type { Revision } from "./revisions.js";
export {
  MemoryStore,
  type ChannelRecord,
  type MessageRecord,
  type OutboxEntry,
  type Store,
  type StoreBatch,
  type StoreSnapshot,
} from "./store.js";
export type {
  Conversation,
  CourierEvents,
  CourierOptions,
  Frame,
  Message,
  PendingMessage,
  Presence,
  SentMessage,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
