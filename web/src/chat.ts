// The signed-in page: one CourierClient (one device), the list, the open conversation.
// Every change re-renders from the client's own state (unread, cursors, messages): the
// page keeps no count of its own.

import { CourierClient, IndexedDbStore, MAX_BODY_BYTES, MAX_MENTIONS } from "../../client-ts/src/index.ts";
import { byId } from "./dom.ts";
import { fillAvatar } from "./avatar.ts";
import { renderList } from "./list-view.ts";
import { renderMessages } from "./messages-view.ts";
import { conversationRows, messageRows, type RowContext } from "./rows.ts";
import { fetchToken, putGroup } from "./admin.ts";
import type { Identity } from "./login.ts";
import { Peers } from "./peers.ts";
import { channelTitle, dmChannel, dmPeer, mentioned, parseNewChat } from "./text.ts";

export class ChatPage {
  private readonly client: CourierClient;
  private open: string | null = null;
  private drafts = new Set<string>(); // DMs opened here before their first message
  private readonly peers: Peers;
  private editing: { channel: string; seq: number } | null = null;
  private selected: number | null = null; // the own message whose tools show on a phone
  private scheduled = false;
  private stickToBottom = true;
  private toastTimer: number | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly who: Identity,
    token: string,
    private readonly signOut: (reason?: string) => void,
  ) {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
    // One database per (user, device): two tabs as two devices of one user stay apart.
    const store = new IndexedDbStore({ name: `courier-web:${who.user}:${who.device}` });
    // A token about to expire is replaced before a connect: from the local admin API here,
    // from the app's own server in a real deployment (see admin.ts).
    const refreshToken = (): Promise<string> => fetchToken(who);
    this.client = new CourierClient({ url, token, store, refreshToken });
    this.peers = new Peers(this.client, who.user, () => this.render());
  }

  async start(): Promise<void> {
    this.bindDom();
    const on = this.client.on.bind(this.client);
    this.unsubscribe.push(
      on("connected", () => {
        this.render();
        void this.peers.askAll();
      }),
      on("disconnected", () => this.render()),
      on("auth_failed", () => this.signOut("The server refused this device's token. Sign in again.")),
      on("server_reset", () => this.render()),
      on("message", (e) => {
        this.peers.sent(e.channel);
        this.render();
        if (e.channel === this.open) this.readIfVisible();
        this.peers.askOnce(e.channel);
      }),
      on("unread", (e) => {
        this.render();
        if (e.channel === this.open && e.unread > 0) this.readIfVisible();
      }),
      on("sendack", (e) => {
        this.render();
        this.peers.askOnce(e.channel);
      }),
      on("recall", () => this.render()),
      on("edit", () => this.render()),
      on("mute", () => this.render()),
      on("peer_read", () => this.render()),
      on("typing", (e) => this.peers.typed(e.channel, e.user)),
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
    if (peer !== undefined) void this.peers.ask([peer]);
    if (matchMedia("(min-width: 721px)").matches) byId("draft").focus();
  }

  /** Mark the open conversation read, when a person can see it. */
  private readIfVisible(): void {
    const channel = this.open;
    if (channel === null || document.visibilityState !== "visible") return;
    if (this.client.unread(channel) > 0 || this.client.mentions(channel) > 0) {
      this.client.read(channel).catch((error: unknown) => this.toast(`Not marked read: ${String(error)}`));
    }
  }

  /** Back to the page: read what came meanwhile, and fetch the conversation list again (a
   * group the admin API added this user to is announced by no frame). */
  private readonly onVisibility = (): void => {
    this.readIfVisible();
    if (document.visibilityState === "visible" && this.client.connected) {
      this.client.syncConversations().then(() => this.render(), () => undefined); // else the next connect does
    }
  };

  private async startChat(event: Event): Promise<void> {
    event.preventDefault();
    const input = byId<HTMLInputElement>("new-dm-user");
    const error = byId("new-dm-error");
    const wanted = parseNewChat(input.value, this.who.user);
    error.textContent = "problem" in wanted ? wanted.problem : "";
    if ("problem" in wanted) return;
    if ("dm" in wanted) {
      input.value = "";
      const channel = dmChannel(this.who.user, wanted.dm);
      this.drafts.add(channel);
      this.openChannel(channel);
      return;
    }
    const channel = `g:${wanted.group}`;
    try {
      if (wanted.members.length > 0) {
        await putGroup(wanted.group, wanted.members); // local-only: see admin.ts
        await this.client.syncConversations(); // no frame tells members of a new group
      }
    } catch (failure) {
      error.textContent = `Could not make #${wanted.group}: ${failure instanceof Error ? failure.message : String(failure)}`;
      return;
    }
    if (!this.client.conversations().some((c) => c.channel === channel)) {
      error.textContent = `You are not in #${wanted.group}. To make it: #${wanted.group} alice, bob`;
      return;
    }
    input.value = "";
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
    const view: RowContext = { me, open: this.open, presence: this.peers.presence, selected: this.selected };
    const rows = conversationRows(this.client, view, this.drafts);
    renderList(byId("conversations"), rows, (channel) => this.openChannel(channel));
    byId("chat").classList.toggle("pane-open", this.open !== null);
    const channel = this.open;
    for (const id of ["pane-head", "messages", "composer"]) byId(id).hidden = channel === null;
    byId("pane-empty").hidden = channel !== null;
    if (channel === null) return;

    const peer = dmPeer(channel, me);
    const online = peer === undefined ? undefined : this.peers.presence.get(peer)?.online;
    fillAvatar(byId("peer-avatar"), peer ?? channel.slice(2), peer === undefined, online);
    byId("pane-name").textContent = channelTitle(channel, me);
    const line = this.peers.status(channel);
    const paneStatus = byId("pane-status");
    paneStatus.textContent = line.text;
    paneStatus.className = line.className;
    const muted = this.client.muted(channel);
    const mute = byId("mute");
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(muted));
    byId("editing").hidden = this.editing?.channel !== channel;
    byId("send").textContent = this.editing?.channel === channel ? "Save" : "Send";

    const list = byId("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    renderMessages(list, messageRows(this.client, channel, view), me, {
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

  // --------------------------------------------------------------- DOM wiring
  private bindDom(): void {
    fillAvatar(byId("me-avatar"), this.who.user, false);
    byId("me-name").textContent = `${this.who.user} · ${this.who.device}`;
    byId("sign-out").onclick = () => this.signOut();
    byId<HTMLFormElement>("new-dm").onsubmit = (e) => void this.startChat(e);
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
