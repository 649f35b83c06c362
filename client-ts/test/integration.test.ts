/** The SDK against the real local stack, over real WebSockets: the seed's unread bug (acks
 * lost, retries arrive, a read on one device clears the badge on every device) and an
 * outbox that survives a restart and sends exactly once. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { indexedDB } from "fake-indexeddb";
import { CourierClient, IndexedDbStore, type CourierEvents } from "../src/index.js";
import { LocalStack, unavailable } from "./local-stack.js";
import { newTap, pushed, tapped, type Tap } from "./tapped-socket.js";
import { until } from "./wait.js";

const skip = unavailable();

describe("against the local stack", { skip }, () => {
  let stack: LocalStack | undefined;
  const clients: CourierClient[] = [];

  before(async () => {
    stack = await LocalStack.start();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await stack?.stop();
  });

  function up(): LocalStack {
    if (stack === undefined) throw new Error("the local stack did not start");
    return stack;
  }

  async function device(
    user: string,
    name: string,
    tap: Tap = newTap(),
    store?: IndexedDbStore,
  ): Promise<CourierClient> {
    const client = new CourierClient({
      url: up().url,
      token: await up().token(user, name),
      WebSocket: tapped(tap),
      ...(store ? { store } : {}),
      resendTimeoutMs: 2_000,
    });
    clients.push(client);
    return client;
  }

  function collect<K extends keyof CourierEvents>(client: CourierClient, type: K) {
    const events: CourierEvents[K][] = [];
    client.on(type, (event) => events.push(event));
    return events;
  }

  test("retries to devices that lose their acks never make a read channel unread", async () => {
    const dm = "dm:ts.dave:ts.erin";
    const phoneTap = newTap();
    const tabletTap = newTap();
    for (const tap of [phoneTap, tabletTap]) tap.dropOut = (frame) => frame.action === "ack";
    const dave = await device("ts.dave", "phone");
    const phone = await device("ts.erin", "phone", phoneTap);
    const tablet = await device("ts.erin", "tablet", tabletTap);
    const shown = { phone: collect(phone, "message"), tablet: collect(tablet, "message") };
    await Promise.all([dave.connect(), phone.connect(), tablet.connect()]);

    await dave.send(dm, { text: "m0" });
    await dave.send(dm, { text: "m1" });
    // Both devices get the first copies, then at least one retry (their acks never arrive).
    await until(
      () => Math.min(pushed(phoneTap, dm, 1), pushed(tabletTap, dm, 1)) >= 2,
      "a retry of seq 1 on both devices",
    );
    await until(() => phone.unread(dm) === 2 && tablet.unread(dm) === 2, "unread 2 on both");

    await phone.read(dm);
    await until(() => tablet.unread(dm) === 0, "the read reaching the tablet");
    const badges = [collect(phone, "unread"), collect(tablet, "unread")];
    const copies = [phoneTap, tabletTap].map((tap) => tap.received.length);
    await until(
      () => pushed(phoneTap, dm, 2) >= 3 && pushed(tabletTap, dm, 2) >= 3,
      "more retries after the read",
    );
    assert.ok(phoneTap.received.length > (copies[0] ?? 0));

    for (const [erin, events] of [
      [phone, shown.phone],
      [tablet, shown.tablet],
    ] as const) {
      assert.equal(erin.unread(dm), 0);
      assert.equal(erin.totalUnread(), 0);
      await erin.syncConversations();
      assert.equal(erin.unread(dm), 0);
      const [conversation] = erin.conversations().filter((c) => c.channel === dm);
      assert.equal(conversation?.unread, 0);
      assert.deepEqual(
        erin.messages(dm).map((m) => m.seq),
        [1, 2],
      );
      assert.deepEqual(events.map((e) => e.message.seq).sort(), [1, 2]); // each shown once
    }
    assert.deepEqual(badges.flat(), []); // the retries never moved a badge
    assert.equal((await up().unread("ts.erin"))[dm], 0);
  });
  test("an outbox survives a client restart and sends exactly once", async () => {
    const dm = "dm:ts.hugo:ts.ines";
    const ines = await device("ts.ines", "phone");
    const inesShown = collect(ines, "message");
    await ines.connect();
    const store = () => new IndexedDbStore({ name: "courier:ts.hugo", indexedDB });

    // hugo's sendack is lost: the message is on the server, and still in his outbox
    const lossy = newTap();
    lossy.dropIn = (frame) => frame.type === "sendack";
    const firstStore = store();
    const first = await device("ts.hugo", "phone", lossy, firstStore);
    await first.connect();
    const sentOnce = await first.send(dm, { text: "sent, sendack lost" });
    await until(() => inesShown.length === 1, "ines getting the first message");
    await first.close(); // the app is killed
    await firstStore.close();

    // offline, after a restart: the outbox is there, and grows
    const secondStore = store();
    const offline = await device("ts.hugo", "phone", newTap(), secondStore);
    await offline.load();
    assert.deepEqual(
      offline.outbox().map((m) => m.clientMsgNo),
      [sentOnce],
    );
    const queued = await offline.send(dm, { text: "written offline" });
    await offline.close();
    await secondStore.close();

    // the next start sends both, with their clientMsgNos: the first answers duplicate
    const tap = newTap();
    const hugo = await device("ts.hugo", "phone", tap, store());
    const sendacks = collect(hugo, "sendack");
    await hugo.connect();
    await until(() => hugo.outbox().length === 0, "the outbox emptied");
    assert.deepEqual(
      sendacks.map((e) => [e.clientMsgNo, e.seq, e.duplicate]).sort(),
      [
        [queued, 2, false],
        [sentOnce, 1, true],
      ].sort(),
    );
    await until(() => inesShown.length === 2, "ines getting the second message");
    assert.deepEqual(
      ines.messages(dm).map((m) => [m.seq, m.body]),
      [
        [1, { text: "sent, sendack lost" }],
        [2, { text: "written offline" }],
      ],
    );
    assert.deepEqual(
      hugo.messages(dm).map((m) => [m.seq, m.clientMsgNo, m.pending]),
      [
        [1, sentOnce, undefined],
        [2, queued, undefined],
      ],
    );
    await ines.syncConversations();
    assert.equal(ines.conversations().find((c) => c.channel === dm)?.lastSeq, 2);
    assert.equal((await up().unread("ts.ines"))[dm], 2);
  });
  const platformWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
  test(
    "the platform's own WebSocket (a browser's; here Node's --experimental-websocket) works",
    { skip: platformWebSocket === undefined && "no global WebSocket in this Node" },
    async () => {
      const dm = "dm:ts.kim:ts.lea";
      const [kim, lea] = await Promise.all(
        ["ts.kim", "ts.lea"].map(async (user) => {
          const made = new CourierClient({ url: up().url, token: await up().token(user) });
          clients.push(made);
          return made;
        }),
      );
      if (kim === undefined || lea === undefined) throw new Error("two clients");
      await Promise.all([kim.connect(), lea.connect()]);
      await kim.send(dm, { text: "hi lea" });
      await until(() => lea.unread(dm) === 1, "the message reaching lea");
      await lea.read(dm);
      await until(() => kim.peerReadSeq(dm) === 1, "lea's receipt reaching kim");
      assert.deepEqual(
        lea.messages(dm).map((m) => [m.from, m.body]),
        [["ts.kim", { text: "hi lea" }]],
      );
      assert.equal((await up().unread("ts.lea"))[dm], 0);
    },
  );
});
