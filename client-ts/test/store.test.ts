/** Both stores keep the same records the same way: a batch written is what the next load (by
 * the same store, or a new one over the same database: a restart) returns. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IDBFactory } from "fake-indexeddb";
import {
  IndexedDbStore,
  MemoryStore,
  type ChannelRecord,
  type MessageRecord,
  type Store,
  type StoreSnapshot,
} from "../src/index.js";

const channel = (name: string, readSeq = 0): ChannelRecord => ({
  channel: name,
  lastSeq: 3,
  readSeq,
  wantedRead: 2,
  expiredThrough: 0,
  muted: false,
  peerReadSeq: 0,
  early: { "5": { recalled: true, version: 0, body: null } },
  anchors: {},
});

const message = (name: string, seq: number): MessageRecord => ({
  channel: name,
  seq,
  messageId: `m${seq}`,
  from: "bob",
  body: { text: `héllo ${seq}` },
  ts: 1000 + seq,
  mentions: ["alice"],
  recalled: false,
  version: 0,
});

const outbox = (clientMsgNo: string, created: number) => ({
  clientMsgNo,
  channel: "dm:alice:bob",
  body: { text: clientMsgNo },
  mentions: [],
  created,
});

function sorted(snapshot: StoreSnapshot): StoreSnapshot {
  return {
    channels: [...snapshot.channels].sort((a, b) => a.channel.localeCompare(b.channel)),
    messages: [...snapshot.messages].sort((a, b) => a.seq - b.seq),
    outbox: [...snapshot.outbox].sort((a, b) => a.created - b.created),
  };
}

const kinds: [string, () => { open(): Store }][] = [
  [
    "MemoryStore",
    () => {
      const store = new MemoryStore();
      return { open: () => store };
    },
  ],
  [
    "IndexedDbStore",
    () => {
      const indexedDB = new IDBFactory();
      return { open: () => new IndexedDbStore({ name: "courier:alice", indexedDB }) };
    },
  ],
];

for (const [kind, backing] of kinds) {
  describe(kind, () => {
    test("an empty store loads empty", async () => {
      const store = backing().open();
      assert.deepEqual(await store.load(), { channels: [], messages: [], outbox: [] });
    });

    test("what a batch writes is what a restart loads", async () => {
      const db = backing();
      const store = db.open();
      const record = channel("dm:alice:bob");
      await store.write({
        channels: [record],
        messages: [message("dm:alice:bob", 1), message("dm:alice:bob", 2)],
        outbox: [outbox("a", 1), outbox("b", 2)],
      });
      record.readSeq = 99; // the store holds a copy
      await store.write({ channels: [channel("dm:alice:bob", 1)], deleteOutbox: ["a"] });
      await store.close();
      const reopened = db.open();
      assert.deepEqual(sorted(await reopened.load()), {
        channels: [channel("dm:alice:bob", 1)],
        messages: [message("dm:alice:bob", 1), message("dm:alice:bob", 2)],
        outbox: [outbox("b", 2)],
      });
    });

    test("a reset drops channels and messages and keeps the outbox", async () => {
      const store = backing().open();
      await store.write({
        channels: [channel("g:team")],
        messages: [message("g:team", 1)],
        outbox: [outbox("a", 1)],
      });
      await store.write({ reset: true, channels: [channel("dm:alice:bob")] });
      assert.deepEqual(sorted(await store.load()), {
        channels: [channel("dm:alice:bob")],
        messages: [],
        outbox: [outbox("a", 1)],
      });
    });
  });
}
