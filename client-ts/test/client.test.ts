/** The client against a fake server: dedup, gap fill and cumulative acks, the outbox, reads
 * kept until held, unread derived from cursors, the server-reset check, keep-alive, auth
 * failure and the typing throttle. */

import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  AuthError,
  CourierClient,
  InvalidUserIdsError,
  MemoryStore,
  NotConnectedError,
  type CourierEvents,
  type CourierOptions,
} from "../src/index.js";
import { DROP, FakeServer, GATEWAY_ERROR, THROTTLED, tokenFor } from "./fake-courier.js";
import { until } from "./wait.js";

const DM = "dm:alice:bob";
const clients: CourierClient[] = [];

function client(server: FakeServer, options: Partial<CourierOptions> = {}): CourierClient {
  const made = new CourierClient({
    url: "http://courier.test",
    token: tokenFor(server.user),
    WebSocket: server.WebSocket,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    ...options,
  });
  clients.push(made);
  return made;
}

function collect<K extends keyof CourierEvents>(
  courier: CourierClient,
  type: K,
): CourierEvents[K][] {
  const events: CourierEvents[K][] = [];
  courier.on(type, (event) => events.push(event));
  return events;
}

function bobSends(server: FakeServer, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, n) => server.add(DM, "bob", `m${n}`));
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe("dedup, gap fill and acks", () => {
  test("a retried message is shown once, acked again, and never changes unread", async () => {
    const server = new FakeServer("alice");
    const alice = client(server);
    const shown = collect(alice, "message");
    await alice.connect();
    const [first] = bobSends(server, 1);
    server.socket.push(first ?? {});
    await until(() => server.acks.get(DM) === 1, "the ack of seq 1");
    const acksBefore = server.sent("ack").length;
    server.socket.push(first ?? {}); // a retry: the server has not got the ack
    await until(() => server.sent("ack").length > acksBefore, "the ack sent again");
    assert.equal(alice.unread(DM), 1);
    assert.deepEqual(
      shown.map((e) => e.message.seq),
      [1],
    );
    await alice.read(DM);
    server.socket.push(first ?? {});
    await until(() => server.sent("ack").length > acksBefore + 1, "the third ack");
    assert.equal(alice.unread(DM), 0);
    assert.equal(alice.totalUnread(), 0);
  });

  test("a message past a gap is filled through sync and acked cumulatively", async () => {
    const server = new FakeServer("alice");
    const alice = client(server);
    await alice.connect();
    const frames = bobSends(server, 3);
    server.socket.push(frames[0] ?? {});
    server.socket.push(frames[2] ?? {}); // seq 2's frame is lost
    await until(() => server.acks.get(DM) === 3, "the cumulative ack of 3");
    assert.deepEqual(
      alice.messages(DM).map((m) => m.seq),
      [1, 2, 3],
    );
    const syncs = server.sent("sync").filter((f) => f.channel === DM);
    assert.equal(syncs.at(-1)?.afterSeq, 1);
    assert.equal(alice.unread(DM), 3);
  });

  test("messages that expired count as filled, so the ack moves past them", async () => {
    const server = new FakeServer("alice");
    bobSends(server, 4);
    server.expired.add(`${DM}#1`).add(`${DM}#2`);
    const alice = client(server);
    await alice.connect();
    await until(() => server.acks.get(DM) === 4, "the ack of 4");
    assert.deepEqual(
      alice.messages(DM).map((m) => m.seq),
      [3, 4],
    );
    assert.equal(alice.unread(DM), 4); // expired messages still count (retention)
  });
});

describe("the outbox", () => {
  test("a send without its sendack goes out again with the same clientMsgNo", async () => {
    const server = new FakeServer("alice");
    server.fault("send", DROP);
    const alice = client(server, { resendTimeoutMs: 20 });
    await alice.connect();
    const clientMsgNo = await alice.send(DM, { text: "hi" });
    assert.deepEqual(
      alice.messages(DM).map((m) => [m.pending, m.clientMsgNo]),
      [[true, clientMsgNo]],
    );
    await until(() => alice.outbox().length === 0, "the sendack");
    const sends = server.sent("send");
    assert.equal(sends.length, 2);
    assert.ok(sends.every((f) => f.clientMsgNo === clientMsgNo));
    assert.deepEqual(alice.messages(DM), [
      {
        channel: DM,
        seq: 1,
        messageId: `m-${DM}-1`,
        from: "alice",
        body: { text: "hi" },
        sentAt: 1_764_158_400_001,
        clientMsgNo,
      },
    ]);
    assert.equal(alice.unread(DM), 0); // sending read what it answers
  });

  test("throttled is sent again; forbidden is given up and told", async () => {
    const server = new FakeServer("alice");
    server.fault("send", THROTTLED);
    const alice = client(server, { resendTimeoutMs: 20 });
    const errors = collect(alice, "error");
    await alice.connect();
    await alice.send(DM, { text: "one" });
    const refused = await alice.send("g:nope", { text: "two" });
    await until(() => alice.outbox().length === 0, "the outbox emptied");
    assert.equal(server.sent("send").filter((f) => f.channel === DM).length, 2);
    assert.deepEqual(
      errors.map((e) => [e.code, e.clientMsgNo]),
      [
        ["throttled", server.sent("send")[0]?.clientMsgNo],
        ["forbidden", refused],
      ],
    );
  });

  test("an outbox entry survives a lost connection and a restart, sent until acked", async () => {
    const server = new FakeServer("alice");
    server.fault("send", DROP);
    const store = new MemoryStore();
    const first = client(server, { store });
    await first.connect();
    const clientMsgNo = await first.send(DM, { text: "hi" });
    server.socket.close(); // the connection drops before any sendack
    await until(() => server.sockets.length === 2 && first.connected, "a reconnect");
    await until(() => first.outbox().length === 0, "the sendack after the reconnect");
    assert.equal(server.sent("send").length, 2);

    server.fault("send", DROP);
    const queued = await first.send(DM, { text: "again" });
    await first.close(); // the app is killed before the sendack
    const second = client(server, { store });
    await second.load();
    assert.deepEqual(
      second.outbox().map((m) => m.clientMsgNo),
      [queued],
    );
    await second.connect();
    await until(() => second.outbox().length === 0, "the restarted client's sendack");
    assert.deepEqual(
      server.sent("send").map((f) => f.clientMsgNo),
      [clientMsgNo, clientMsgNo, queued, queued],
    );
    assert.equal(server.lastSeq(DM), 2);
  });

  test("a body or mentions the server would refuse are refused before queuing", async () => {
    const server = new FakeServer("alice");
    const alice = client(server);
    await assert.rejects(alice.send(DM, undefined), TypeError);
    await assert.rejects(alice.send(DM, "x".repeat(16_385)), RangeError);
    await assert.rejects(alice.send(DM, "hi", { mentions: ["bob", "bob"] }), /more than once/);
    assert.deepEqual(alice.outbox(), []);
  });
});

describe("reads", () => {
  test("a read made offline reaches the server on connect", async () => {
    const server = new FakeServer("alice");
    const store = new MemoryStore();
    const online = client(server, { store });
    bobSends(server, 2);
    await online.connect();
    await online.close();
    const offline = client(server, { store });
    await offline.read(DM);
    assert.equal(offline.unread(DM), 0);
    assert.equal(server.reads.get(DM) ?? 0, 0);
    await offline.connect(); // resolves once the reads are out
    assert.deepEqual(
      server.sent("read").map((f) => [f.channel, f.seq]),
      [[DM, 2]],
    );
    await until(() => server.reads.get(DM) === 2, "the read held by the server");
  });

  test("a read whose frame is lost or whose outcome is unknown is sent again", async () => {
    const server = new FakeServer("alice");
    server.fault("read", DROP, GATEWAY_ERROR);
    bobSends(server, 2);
    const alice = client(server, { resendTimeoutMs: 20 });
    await alice.connect();
    await alice.read(DM);
    await until(() => server.sent("read").length >= 3, "the third read");
    await until(() => server.reads.get(DM) === 2, "the read held");
    assert.equal(alice.unread(DM), 0);
  });

  test("a read on another device clears this one", async () => {
    const server = new FakeServer("alice");
    bobSends(server, 3);
    const alice = client(server);
    const unread = collect(alice, "unread");
    await alice.connect();
    assert.equal(alice.totalUnread(), 3);
    server.socket.push({ type: "read", channel: DM, readSeq: 3, unread: 0 });
    await until(() => alice.unread(DM) === 0, "the read applied");
    assert.deepEqual(unread.at(-1), { channel: DM, unread: 0, mentions: 0, totalUnread: 0 });
  });
});

describe("unread derived from cursors", () => {
  test("a recall lowers unread once; a muted conversation is left out of the total", async () => {
    const server = new FakeServer("alice");
    server.add(DM, "bob", "hi", ["alice"]);
    server.add(DM, "bob", "there");
    const alice = client(server);
    const recalls = collect(alice, "recall");
    await alice.connect();
    assert.deepEqual([alice.unread(DM), alice.mentions(DM)], [2, 1]);
    const recall = server.recall(DM, 1);
    server.socket.push(recall);
    server.socket.push(recall);
    await until(() => alice.unread(DM) === 1, "the recall applied");
    assert.equal(alice.mentions(DM), 0);
    assert.deepEqual(recalls, [{ channel: DM, seq: 1, messageId: `m-${DM}-1` }]);
    assert.equal(alice.messages(DM)[0]?.recalled, true);
    await alice.mute(DM);
    assert.deepEqual([alice.muted(DM), alice.unread(DM), alice.totalUnread()], [true, 1, 0]);
  });

  test("a recall made while away is learnt on connect (the counts differ)", async () => {
    const server = new FakeServer("alice");
    const store = new MemoryStore();
    bobSends(server, 3);
    const first = client(server, { store });
    await first.connect();
    await first.close();
    server.recall(DM, 2);
    const second = client(server, { store });
    await second.connect();
    assert.equal(second.unread(DM), 2);
    assert.equal(second.messages(DM)[1]?.recalled, true);
  });
});

describe("connection", () => {
  test("a store from a server that lost its state is forgotten, the outbox kept", async () => {
    const old = new FakeServer("alice");
    const store = new MemoryStore();
    bobSends(old, 2);
    old.fault("send", DROP);
    const first = client(old, { store });
    await first.connect();
    await first.send(DM, { text: "unsent" });
    await first.close();
    const fresh = new FakeServer("alice"); // restarted empty
    const second = client(fresh, { store });
    const resets = collect(second, "server_reset");
    await second.connect();
    assert.deepEqual(resets, [{ outbox: 1 }]);
    await until(() => second.outbox().length === 0, "the outbox sent to the new server");
    assert.deepEqual(
      second.messages(DM).map((m) => m.body),
      [{ text: "unsent" }],
    );
  });

  test("a quiet connection is pinged; a ping unanswered reconnects", async () => {
    const server = new FakeServer("alice");
    const alice = client(server, { pingIntervalMs: 20, requestTimeoutMs: 50 });
    await alice.connect();
    await until(() => server.sent("ping").length >= 1, "a ping");
    server.fault("ping", DROP, DROP, DROP, DROP, DROP, DROP, DROP, DROP);
    await until(() => server.sockets.length >= 2, "a reconnect after a lost pong");
  });

  test("a refused handshake fails connect with AuthError", async () => {
    const server = new FakeServer("alice");
    server.refuse = 403;
    const alice = client(server);
    const failures = collect(alice, "auth_failed");
    await assert.rejects(alice.connect(), AuthError);
    assert.deepEqual(failures, [{ status: 403 }]);
  });

  test("a refused handshake asks for a fresh token once, then connects with it", async () => {
    const server = new FakeServer("alice");
    server.refuse = 403;
    const fresh = tokenFor("alice", { n: 2 });
    const refreshes: string[] = [];
    const alice = client(server, {
      refreshToken: () => {
        refreshes.push("asked");
        server.refuse = undefined;
        return Promise.resolve(fresh);
      },
    });
    await alice.connect();
    assert.deepEqual(refreshes, ["asked"]);
    assert.ok(server.socket.url.endsWith(`?token=${fresh}`));
  });

  test("an expired token is refreshed before connecting; another user's is refused", async () => {
    const server = new FakeServer("alice");
    const now = 1_800_000_000_000;
    const expired = tokenFor("alice", { exp: now / 1000 - 1 });
    const fresh = tokenFor("alice", { exp: now / 1000 + 3600 });
    const alice = client(server, {
      token: expired,
      now: () => now,
      refreshToken: () => Promise.resolve(fresh),
    });
    await alice.connect();
    assert.deepEqual(
      server.sockets.map((socket) => socket.url.endsWith(`?token=${fresh}`)),
      [true],
    );

    const other = new FakeServer("alice");
    other.refuse = 403;
    const failures: unknown[] = [];
    const mallory = client(other, {
      refreshToken: () => {
        other.refuse = undefined; // bob's token would be taken: it must not be used
        return Promise.resolve(tokenFor("bob"));
      },
    });
    mallory.on("auth_failed", (event) => failures.push(event));
    await assert.rejects(mallory.connect(), AuthError);
    assert.deepEqual(failures, [{ status: 403 }]);
  });

  test("requests need a connection; typing is throttled to one per 3 s", async () => {
    const server = new FakeServer("alice");
    let now = 1_000_000;
    const alice = client(server, { now: () => now });
    await assert.rejects(alice.recall(DM, 1), NotConnectedError);
    assert.equal(alice.typing(DM), false);
    await alice.connect();
    assert.equal(alice.typing(DM), true);
    now += 2_999;
    assert.equal(alice.typing(DM), false);
    now += 1;
    assert.equal(alice.typing(DM), true);
    assert.equal(server.sent("typing").length, 2);
  });
});

describe("v1.1, views and reconnects", () => {
  test("edits keep the highest version whatever the order; each is told once", async () => {
    const server = new FakeServer("alice");
    bobSends(server, 1);
    const alice = client(server);
    const edits = collect(alice, "edit");
    await alice.connect();
    const first = server.edit(DM, 1, { text: "v1" });
    const second = server.edit(DM, 1, { text: "v2" });
    server.socket.push(second);
    server.socket.push(first); // late, and older
    server.socket.push(second); // again
    await until(() => alice.messages(DM)[0]?.version === 2, "the edit applied");
    await alice.read(DM); // an edit never changes unread; a read does
    assert.deepEqual(edits.map((e) => [e.seq, e.version, e.body]), [[1, 2, { text: "v2" }]]);
    assert.deepEqual(alice.messages(DM)[0]?.body, { text: "v2" });
    assert.equal(alice.unread(DM), 0);
  });

  test("a peer's receipt raises peerReadSeq once; receipts and presence answer", async () => {
    const server = new FakeServer("alice");
    server.add(DM, "alice", "mine");
    const alice = client(server);
    const peerReads = collect(alice, "peer_read");
    await alice.connect();
    const receipt = { type: "receipt", channel: DM, user: "bob", readSeq: 1 };
    server.socket.push(receipt);
    server.socket.push({ ...receipt, readSeq: 0 }); // late: never backwards
    await until(() => alice.peerReadSeq(DM) === 1, "the receipt applied");
    assert.deepEqual(peerReads, [{ channel: DM, peerReadSeq: 1 }]);
    const receipts = await alice.receipts(DM, 1);
    assert.deepEqual([receipts.count, receipts.readBy], [1, ["bob"]]);
    assert.deepEqual(await alice.presence(["bob"]), {
      bob: { online: false, lastSeen: 1_764_158_400_000 },
    });
    await assert.rejects(alice.presence([]), InvalidUserIdsError);
  });

  test("what came while the connection was down arrives through sync, told once", async () => {
    const server = new FakeServer("alice");
    const alice = client(server);
    const shown = collect(alice, "message");
    const connects = collect(alice, "connected");
    await alice.connect();
    server.socket.close();
    bobSends(server, 2); // nobody is connected: nothing is pushed
    server.add("dm:alice:carol", "carol", "hello", ["alice"]);
    await until(() => connects.length === 2, "the reconnect caught up");
    assert.deepEqual(
      shown.map((e) => [e.channel, e.message.seq]),
      [
        [DM, 1],
        [DM, 2],
        ["dm:alice:carol", 1],
      ],
    );
    assert.deepEqual(connects.at(-1), { totalUnread: 3 });
    assert.deepEqual(
      alice.conversations().map((c) => [c.channel, c.unread, c.mentions, c.last?.seq]),
      [
        [DM, 2, 0, 2], // newest first: its last message is at ts + 2
        ["dm:alice:carol", 1, 1, 1],
      ],
    );
  });

  test("a send whose outcome is unknown (API Gateway's error frame) goes out again", async () => {
    const server = new FakeServer("alice");
    server.fault("send", GATEWAY_ERROR);
    const alice = client(server, { resendTimeoutMs: 600_000 }); // only the error resends
    const errors = collect(alice, "error");
    const sendacks = collect(alice, "sendack");
    await alice.connect();
    const clientMsgNo = await alice.send(DM, { text: "hi" });
    await until(() => sendacks.length === 1, "the sendack of the resend");
    assert.deepEqual(sendacks[0], {
      channel: DM,
      clientMsgNo,
      seq: 1,
      messageId: `m-${DM}-1`,
      ts: 1_764_158_400_001,
      duplicate: true,
    });
    assert.deepEqual(errors.map((e) => e.code), ["gateway"]);
    assert.equal(server.lastSeq(DM), 1);
  });
});
