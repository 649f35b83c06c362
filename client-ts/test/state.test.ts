/** The state's unread and mentions follow the server's formula whatever order frames arrive
 * in, however often, and through a store round trip (property-style over random histories,
 * with fixed seeds so a failure reproduces); the read anchors of a server reset. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStore } from "../src/index.js";
import { State } from "../src/state.js";

const USER = "alice";

/** A small seeded PRNG (mulberry32): the same seed, the same history. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

interface History {
  channel: string;
  last: number;
  read: number;
  recalled: Set<number>;
  mentioning: Set<number>;
  delivered: Set<number>;
  muted: boolean;
}

function history(channel: string, rand: () => number): History {
  const last = Math.floor(rand() * 12);
  const pick = (p: number) =>
    new Set(Array.from({ length: last }, (_, i) => i + 1).filter(() => rand() < p));
  return {
    channel,
    last,
    read: Math.floor(rand() * (last + 1)),
    recalled: pick(0.3),
    mentioning: pick(0.4),
    delivered: pick(0.8),
    muted: rand() < 0.3,
  };
}

/** The frames' effects on the state, each to be applied in any order, some twice. */
function steps(h: History, state: State): (() => void)[] {
  const list: (() => void)[] = [];
  for (const seq of h.delivered) {
    const frame: Record<string, unknown> = {
      seq,
      messageId: `m${seq}`,
      from: "bob",
      body: { n: seq },
      ts: 1000 + seq,
    };
    if (h.mentioning.has(seq)) frame.mentions = [USER, "carol"];
    list.push(() => {
      state.setLastSeq(h.channel, seq);
      state.addMessage(h.channel, frame);
    });
  }
  for (const seq of h.recalled) list.push(() => state.recall(h.channel, seq));
  list.push(() => state.setLastSeq(h.channel, h.last));
  list.push(() => state.readConfirmed(h.channel, h.read));
  list.push(() => state.setMuted(h.channel, h.muted));
  return list;
}

function expected(h: History): { unread: number; mentions: number } {
  let [unread, mentions] = [0, 0];
  for (let seq = h.read + 1; seq <= h.last; seq++) {
    if (h.recalled.has(seq)) continue;
    unread += 1;
    if (h.mentioning.has(seq) && h.delivered.has(seq)) mentions += 1;
  }
  return { unread, mentions };
}

describe("unread derivation", () => {
  test("unread, mentions and the total match the formula in any frame order", async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = random(seed);
      const histories = ["dm:alice:bob", "g:a", "g:b"].map((c) => history(c, rand));
      const state = new State();
      const all = histories.flatMap((h) => steps(h, state));
      const repeated = all.filter(() => rand() < 0.3); // retried frames
      for (const step of shuffle([...all, ...repeated], rand)) step();

      const store = new MemoryStore();
      const batch = state.takeBatch();
      if (batch !== undefined) await store.write(batch);
      const restarted = new State();
      restarted.load(await store.load());

      for (const s of [state, restarted]) {
        let total = 0;
        for (const h of histories) {
          const want = expected(h);
          const got = { unread: s.unread(h.channel), mentions: s.mentions(h.channel, USER) };
          assert.deepEqual(got, want, `seed ${seed}, ${h.channel}`);
          if (!h.muted) total += want.unread;
        }
        assert.equal(s.totalUnread(), total, `seed ${seed}, total`);
      }
    }
  });

  test("the contiguous prefix stops at the first seq neither held nor expired", () => {
    const state = new State();
    for (const seq of [4, 1, 2]) {
      state.addMessage("g:a", { seq, messageId: `m${seq}`, from: "bob", body: null, ts: seq });
    }
    assert.deepEqual([state.newest("g:a")?.seq, state.lastSeq("g:a")], [4, 4]);
    assert.equal(state.contiguousPrefix("g:a"), 2);
    state.markExpiredThrough("g:a", 3);
    assert.equal(state.contiguousPrefix("g:a"), 4);
  });
});

describe("a server that lost its state", () => {
  test("reads come back only for the very messages read (same messageId)", () => {
    const state = new State();
    const add = (seq: number, messageId: string) =>
      state.addMessage("g:a", { seq, messageId, from: "bob", body: null, ts: seq });
    for (const seq of [1, 2, 3]) add(seq, `m${seq}`);
    state.readConfirmed("g:a", 2);
    state.forgetServer();
    assert.deepEqual(state.anchors("g:a"), { "1": "m1", "2": "m2" });
    assert.deepEqual([state.messages("g:a"), state.readSeq("g:a")], [[], 0]);

    add(1, "m1"); // restored from a backup: the same message
    assert.deepEqual([state.readSeq("g:a"), state.wantedRead("g:a")], [1, 1]);
    add(2, "other"); // the histories part here
    assert.deepEqual(state.anchors("g:a"), {});
    assert.equal(state.readSeq("g:a"), 1);
  });
});
