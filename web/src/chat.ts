// The signed-in page: one CourierClient (one device), the list, the open conversation.
// Every change re-renders from the client's own state (unread, cursors, messages): the
// page keeps no count of its own.

import { CourierClient, IndexedDbStore, type Presence, type SentMessage } from "../../client-ts/src/index.ts";
import { byId } from "./dom.ts";
import { fillAvatar } from "./avatar.ts";
import { renderList, type ConversationRow } from "./list-view.ts";
import { renderMessages, type MessageRow } from "./messages-view.ts";
import type { Identity, Token } from "./login.ts";
import { bodyText, channelTitle, clock, dmChannel, dmPeer, lastSeen, mentioned, MAX_MENTIONS, USER_ID } from "./text.ts";

const MAX_BODY_BYTES = 16_384;
const TYPING_SHOWN_MS = 5_000; // a typing frame comes at most every 3 s while someone types
const PRESENCE_BATCH = 100;


export class ChatPage {
  private readonly client: CourierClient;
  private open: string | null = null;
  private drafts = new Set<string>(); // DMs opened here before their first message
  private presence = new Map<string, Presence>();
  private askedOnce = new Set<string>();
  private typing = new Map<string, { user: string; until: number }>();
  private editing: { channel: string; seq: number } | null = null;
  private selected: number | null = null; // the own message whose tools show on a phone
  private scheduled = false;
  private stickToBottom = true;
  private toastTimer: number | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly who: Identity,
    private readonly token: Token,
    private readonly signOut: (reason?: string) => void,
    private readonly renew: () => void,
  ) {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
    // One database per (user, device): two tabs as two devices of one user stay apart.
    const store = new IndexedDbStore({ name: `courier-web:${who.user}:${who.device}` });
    this.client = new CourierClient({ url, token: token.token, store });
  }

  async start(): Promise<void> {
    this.bindDom();
    const on = this.client.on.bind(this.client);
    this.unsubscribe.push(
      on("connected", () => {
        this.render();
        void this.refreshPresence(this.dmPeers());
      }),
      on("disconnected", () => {
        this.render();
        // A browser cannot see why a handshake failed (auth_failed is Node-only), and the SDK
        // keeps the token it was built with: past its expiry, start again with a new one.
        if (Date.now() >= (this.token.expiresAt - 60) * 1000) this.renew();
      }),
      on("auth_failed", () => this.signOut("The server refused this device's token. Sign in again.")),
      on("server_reset", () => this.render()),
      on("message", (e) => {
        this.typing.delete(e.channel);
        this.render();
        if (e.channel === this.open) this.readIfVisible();
        this.presenceOfNewPeer(e.channel);
      }),
      on("unread", (e) => {
        this.render();
        if (e.channel === this.open && e.unread > 0) this.readIfVisible();
      }),
      on("sendack", (e) => {
        this.render();
        this.presenceOfNewPeer(e.channel);
      }),
      on("recall", () => this.render()),
      on("edit", () => this.render()),
      on("mute", () => this.render()),
      on("peer_read", () => this.render()),
      on("typing", (e) => this.showTyping(e.channel, e.user)),
      on("error", (e) => this.toast(`Server said ${e.code}${e.message ? `: ${e.message}` : ""}`)),
    );
    document.addEventListener("visibilitychange", this.onVisibility);
    await this.client.load(); // what this device held last time shows before the connection
    this.render();
    await this.client.connect();
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    document.removeEventListener("visibilitychange", this.onVisibility);
    await this.client.close();
  }

  // ------------------------------------------------------------------ actions
  private openChannel(channel: string | null): void {
    this.open = channel;
    this.editing = null;
    this.selected = null;
    this.stickToBottom = true;
    byId<HTMLTextAreaElement>("draft").value = "";
    this.render();
    if (channel === null) return;
    this.readIfVisible();
    const peer = dmPeer(channel, this.who.user);
    if (peer !== undefined) void this.refreshPresence([peer]);
    if (matchMedia("(min-width: 721px)").matches) byId("draft").focus();
  }

  /** Mark the open conversation read, when a person can see it. */
  private readIfVisible(): void {
    const channel = this.open;
    if (channel === null || document.visibilityState !== "visible") return;
    if (this.client.unread(channel) > 0 || this.client.mentions(channel) > 0) this.client.read(channel);
  }

  private readonly onVisibility = (): void => this.readIfVisible();

  private startDm(event: Event): void {
    event.preventDefault();
    const input = byId<HTMLInputElement>("new-dm-user");
    const error = byId("new-dm-error");
    const user = input.value.trim();
    error.textContent = "";
    if (!USER_ID.test(user)) {
      error.textContent = "A user id is 1–64 of A–Z a–z 0–9 _ . -";
      return;
    }
    if (user === this.who.user) {
      error.textContent = "That is you: pick someone else.";
      return;
    }
    input.value = "";
    const channel = dmChannel(this.who.user, user);
    this.drafts.add(channel);
    this.openChannel(channel);
  }

  private async submit(event: Event): Promise<void> {
    event.preventDefault();
    const draft = byId<HTMLTextAreaElement>("draft");
    const channel = this.open;
    const text = draft.value.trim();
    if (channel === null || text === "") return;
    const body = { text };
    if (new TextEncoder().encode(JSON.stringify(body)).length > MAX_BODY_BYTES) {
      this.toast("That message is too long (16 KB at most).");
      return;
    }
    const mentions = mentioned(text).filter((user) => user !== this.who.user);
    if (mentions.length > MAX_MENTIONS) {
      this.toast(`A message mentions at most ${MAX_MENTIONS} users.`);
      return;
    }
    draft.value = "";
    this.autosize();
    const editing = this.editing;
    this.editing = null;
    this.stickToBottom = true;
    try {
      if (editing !== null && editing.channel === channel) {
        await this.client.edit(channel, editing.seq, body);
      } else {
        const sending = this.client.send(channel, body, mentions.length > 0 ? { mentions } : {});
        this.render(); // the pending bubble shows at once
        await sending;
      }
    } catch (error) {
      this.toast(`Not sent: ${String(error)}`);
    }
    this.render();
  }

  private beginEdit(seq: number, text: string): void {
    if (this.open === null) return;
    this.selected = null;
    this.editing = { channel: this.open, seq };
    const draft = byId<HTMLTextAreaElement>("draft");
    draft.value = text;
    this.autosize();
    draft.focus();
    this.render();
  }

  private async recall(seq: number): Promise<void> {
    if (this.open === null) return;
    this.selected = null;
    try {
      await this.client.recall(this.open, seq);
    } catch (error) {
      this.toast(`Not recalled: ${String(error)}`);
    }
    this.render();
  }

  private async toggleMute(): Promise<void> {
    if (this.open === null) return;
    try {
      await this.client.mute(this.open, !this.client.muted(this.open));
    } catch (error) {
      this.toast(`Not changed: ${String(error)}`);
    }
    this.render();
  }

  private onDraftInput(): void {
    this.autosize();
    if (this.open !== null && byId<HTMLTextAreaElement>("draft").value.trim() !== "") {
      try {
        this.client.typing(this.open); // the SDK throttles; false when it held the frame back
      } catch {
        // typing is best effort
      }
    }
  }

  // --------------------------------------------------------- presence, typing
  private dmPeers(): string[] {
    const peers = this.client
      .conversations()
      .map((c) => dmPeer(c.channel, this.who.user))
      .filter((peer): peer is string => peer !== undefined);
    return peers.slice(0, PRESENCE_BATCH);
  }

  /** Ask once (on connecting, on opening a DM): presence is never pushed, and never polled here. */
  private async refreshPresence(users: string[]): Promise<void> {
    if (users.length === 0 || !this.client.connected) return;
    try {
      const found = await this.client.presence(users);
      for (const user of users) {
        const state = found[user];
        if (state !== undefined) this.presence.set(user, state);
      }
      this.render();
    } catch {
      // presence is a nicety: the page works without it
    }
  }

  /** A DM whose peer the page has no presence for yet (a new conversation): ask once. */
  private presenceOfNewPeer(channel: string): void {
    const peer = dmPeer(channel, this.who.user);
    if (peer === undefined || this.presence.has(peer) || this.askedOnce.has(peer)) return;
    this.askedOnce.add(peer); // a user the server does not report yet is not asked again and again
    void this.refreshPresence([peer]);
  }

  private showTyping(channel: string, user: string): void {
    this.typing.set(channel, { user, until: Date.now() + TYPING_SHOWN_MS });
    this.render();
    window.setTimeout(() => this.render(), TYPING_SHOWN_MS + 50);
  }

  // ---------------------------------------------------------------- rendering
  /** Re-render once, after the events of this turn. */
  private render(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  private draw(): void {
    const me = this.who.user;
    const total = this.client.totalUnread();
    document.title = total > 0 ? `(${total}) Courier chat` : "Courier chat";
    const status = byId("me-status");
    status.textContent = this.client.connected ? "online" : "connecting…";
    status.className = this.client.connected ? "status online" : "status away";
    renderList(byId("conversations"), this.rows(), (channel) => this.openChannel(channel));
    byId("chat").classList.toggle("pane-open", this.open !== null);
    const channel = this.open;
    for (const id of ["pane-head", "messages", "composer"]) byId(id).hidden = channel === null;
    byId("pane-empty").hidden = channel !== null;
    byId("typing").textContent = "";
    if (channel === null) return;

    const peer = dmPeer(channel, me);
    const seen = peer === undefined ? undefined : this.presence.get(peer);
    fillAvatar(byId("peer-avatar"), peer ?? channel.slice(2), peer === undefined, seen?.online);
    byId("pane-name").textContent = channelTitle(channel, me);
    const paneStatus = byId("pane-status");
    const typing = this.typing.get(channel);
    if (typing !== undefined && typing.until > Date.now()) {
      paneStatus.textContent = peer === undefined ? `${typing.user} is typing…` : "typing…";
      paneStatus.className = "status typing-now";
      byId("typing").textContent = `${typing.user} is typing…`;
    } else if (seen !== undefined) {
      paneStatus.textContent = seen.online ? "online" : seen.lastSeen !== undefined ? lastSeen(seen.lastSeen) : "offline";
      paneStatus.className = seen.online ? "status online" : "status";
    } else {
      paneStatus.textContent = peer === undefined ? "group" : "";
      paneStatus.className = "status";
    }
    const muted = this.client.muted(channel);
    const mute = byId("mute");
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(muted));
    byId("editing").hidden = this.editing?.channel !== channel;
    byId("send").textContent = this.editing?.channel === channel ? "Save" : "Send";

    const list = byId("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    renderMessages(list, this.messageRows(channel), me, {
      edit: (seq, text) => this.beginEdit(seq, text),
      recall: (seq) => void this.recall(seq),
      select: (seq) => {
        this.selected = this.selected === seq ? null : seq;
        this.render();
      },
    });
    if (atBottom || this.stickToBottom) list.scrollTop = list.scrollHeight;
    this.stickToBottom = false;
  }

  private rows(): ConversationRow[] {
    const me = this.who.user;
    const listed = this.client.conversations();
    const known = new Set(listed.map((c) => c.channel));
    const rows: (ConversationRow & { activity: number })[] = listed.map((c) => {
      const peer = dmPeer(c.channel, me);
      const last = c.last;
      return {
        channel: c.channel,
        title: channelTitle(c.channel, me),
        peer,
        unread: this.client.unread(c.channel),
        mentions: this.client.mentions(c.channel),
        muted: this.client.muted(c.channel),
        preview: last === undefined ? (peer === undefined ? "No messages yet" : "") : this.preview(last),
        time: last !== undefined ? clock(last.sentAt) : "",
        online: peer === undefined ? undefined : this.presence.get(peer)?.online,
        active: c.channel === this.open,
        activity: last?.sentAt ?? 0,
      };
    });
    rows.sort((a, b) => b.activity - a.activity || (a.channel < b.channel ? -1 : 1));
    for (const channel of this.drafts) {
      if (known.has(channel)) continue;
      const peer = dmPeer(channel, me);
      rows.unshift({
        channel, title: channelTitle(channel, me), peer, unread: 0, mentions: 0, muted: false,
        preview: "New conversation", time: "", online: peer === undefined ? undefined : this.presence.get(peer)?.online,
        active: channel === this.open, activity: Number.MAX_SAFE_INTEGER,
      });
    }
    return rows;
  }

  private preview(message: SentMessage): string {
    if (message.recalled === true) return "Message recalled";
    const text = bodyText(message.body).replace(/\s+/g, " ");
    if (message.from === this.who.user) return `You: ${text}`;
    return dmPeer(message.channel, this.who.user) === undefined ? `${message.from}: ${text}` : text;
  }

  private messageRows(channel: string): MessageRow[] {
    const me = this.who.user;
    const group = dmPeer(channel, me) === undefined;
    const peerRead = group ? 0 : this.client.peerReadSeq(channel);
    const rows: MessageRow[] = [];
    let previousFrom = "";
    let seenSeq = 0;
    for (const message of this.client.messages(channel)) {
      if (message.pending === true) {
        rows.push({
          key: `p:${message.clientMsgNo}`, from: me, mine: true, text: bodyText(message.body), time: "", day: "Today",
          pending: true, recalled: false, edited: false, seen: false, showSender: false, selected: false,
        });
        previousFrom = me;
        continue;
      }
      const m: SentMessage = message;
      const mine = m.from === me;
      if (mine && m.seq <= peerRead) seenSeq = m.seq;
      rows.push({
        key: `s:${m.seq}`, seq: m.seq, from: m.from, mine, text: bodyText(m.body), time: clock(m.sentAt),
        day: new Date(m.sentAt).toLocaleDateString([], { weekday: "long", month: "short", day: "numeric" }),
        pending: false, recalled: m.recalled === true, edited: m.editedAt !== undefined,
        seen: false, showSender: group && !mine && m.from !== previousFrom, selected: m.seq === this.selected,
      });
      previousFrom = m.from;
    }
    const lastSeen = rows.find((row) => row.seq === seenSeq && seenSeq > 0);
    if (lastSeen !== undefined) lastSeen.seen = true;
    return rows;
  }

  // --------------------------------------------------------------- DOM wiring
  private bindDom(): void {
    fillAvatar(byId("me-avatar"), this.who.user, false);
    byId("me-name").textContent = `${this.who.user} · ${this.who.device}`;
    byId("sign-out").onclick = () => this.signOut();
    byId<HTMLFormElement>("new-dm").onsubmit = (e) => this.startDm(e);
    byId<HTMLFormElement>("composer").onsubmit = (e) => void this.submit(e);
    byId("back").onclick = () => this.openChannel(null);
    byId("mute").onclick = () => void this.toggleMute();
    byId("cancel-edit").onclick = () => {
      this.editing = null;
      byId<HTMLTextAreaElement>("draft").value = "";
      this.render();
    };
    const draft = byId<HTMLTextAreaElement>("draft");
    draft.oninput = () => this.onDraftInput();
    draft.onkeydown = (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        byId<HTMLFormElement>("composer").requestSubmit();
      } else if (e.key === "Escape" && this.editing !== null) {
        byId("cancel-edit").click();
      }
    };
  }

  private autosize(): void {
    const draft = byId<HTMLTextAreaElement>("draft");
    draft.style.height = "auto";
    draft.style.height = `${Math.min(draft.scrollHeight, 160)}px`;
  }

  private toast(text: string): void {
    const toast = byId("toast");
    toast.textContent = text;
    toast.hidden = false;
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => (toast.hidden = true), 4_000);
  }
}
