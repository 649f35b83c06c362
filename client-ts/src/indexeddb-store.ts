/** `IndexedDbStore`: the browser's durable store. Three object stores (channels, messages,
 * outbox); each batch is one readwrite transaction, so it lands whole or not at all. */

import type {
  ChannelRecord,
  MessageRecord,
  OutboxEntry,
  Store,
  StoreBatch,
  StoreSnapshot,
} from "./store.js";

const VERSION = 1;
const CHANNELS = "channels";
const MESSAGES = "messages";
const OUTBOX = "outbox";

export interface IndexedDbStoreOptions {
  /** The database name: one per user (and server) on a device, e.g. `courier:alice`. */
  name: string;
  /** The IndexedDB factory (default: the global `indexedDB`; tests pass fake-indexeddb's). */
  indexedDB?: IDBFactory;
}

function done(request: IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}

function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB write failed"));
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB write aborted"));
  });
}

export class IndexedDbStore implements Store {
  private db: Promise<IDBDatabase> | undefined;

  constructor(private readonly options: IndexedDbStoreOptions) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const global = globalThis as { indexedDB?: IDBFactory };
      const factory = this.options.indexedDB ?? global.indexedDB;
      if (factory === undefined) {
        reject(new Error("no IndexedDB here: use another Store"));
        return;
      }
      const request = factory.open(this.options.name, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore(CHANNELS, { keyPath: "channel" });
        db.createObjectStore(MESSAGES, { keyPath: ["channel", "seq"] });
        db.createObjectStore(OUTBOX, { keyPath: "clientMsgNo" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error("IndexedDB open failed"));
    });
    return this.db;
  }

  async load(): Promise<StoreSnapshot> {
    const db = await this.open();
    const transaction = db.transaction([CHANNELS, MESSAGES, OUTBOX], "readonly");
    const [channels, messages, outbox] = await Promise.all([
      done(transaction.objectStore(CHANNELS).getAll()),
      done(transaction.objectStore(MESSAGES).getAll()),
      done(transaction.objectStore(OUTBOX).getAll()),
    ]);
    return {
      channels: channels as ChannelRecord[],
      messages: messages as MessageRecord[],
      outbox: outbox as OutboxEntry[],
    };
  }

  async write(batch: StoreBatch): Promise<void> {
    const db = await this.open();
    const transaction = db.transaction([CHANNELS, MESSAGES, OUTBOX], "readwrite");
    const finished = committed(transaction);
    const [channels, messages, outbox] = [CHANNELS, MESSAGES, OUTBOX].map((name) =>
      transaction.objectStore(name),
    ) as [IDBObjectStore, IDBObjectStore, IDBObjectStore];
    if (batch.reset) {
      channels.clear();
      messages.clear();
    }
    for (const record of batch.channels ?? []) channels.put(record);
    for (const record of batch.messages ?? []) messages.put(record);
    for (const entry of batch.outbox ?? []) outbox.put(entry);
    for (const clientMsgNo of batch.deleteOutbox ?? []) outbox.delete(clientMsgNo);
    await finished;
  }

  /** Close the database (a later call opens it again). */
  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    if (db !== undefined) (await db).close();
  }

  /** Delete the whole database (e.g. on logout). */
  static async destroy(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<void> {
    await done(factory.deleteDatabase(name));
  }
}
