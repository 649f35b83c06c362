// What the page knows of other users: presence (asked, never pushed) and who is typing.

import type { CourierClient, Presence } from "../../client-ts/src/index.ts";
import { dmPeer, lastSeen } from "./text.ts";

const TYPING_SHOWN_MS = 5_000; // a typing frame comes at most every 3 s while someone types
const PRESENCE_BATCH = 100; // the most users one presence request names

export interface StatusLine {
  text: string;
  className: string;
}

export class Peers {
  readonly presence = new Map<string, Presence>();
  private readonly askedOnce = new Set<string>();
  private readonly typing = new Map<string, { user: string; until: number }>();

  constructor(
    private readonly client: CourierClient,
    private readonly me: string,
    private readonly changed: () => void,
  ) {}

  /** Ask the server (on connecting, on opening a DM). Presence is never pushed, and this
   * page never polls it in a loop. */
  async ask(users: string[]): Promise<void> {
    if (users.length === 0 || !this.client.connected) return;
    try {
      const found = await this.client.presence(users.slice(0, PRESENCE_BATCH));
      for (const [user, state] of Object.entries(found)) this.presence.set(user, state);
      this.changed();
    } catch {
      // presence is a nicety: the page works without it
    }
  }

  /** Every DM peer in the list, in one request. */
  askAll(): Promise<void> {
    const peers = this.client.conversations().map((c) => dmPeer(c.channel, this.me));
    return this.ask(peers.filter((peer): peer is string => peer !== undefined));
  }

  /** A DM whose peer has no presence yet (a new conversation): ask once, not at every message
   * (the server reports a peer only once the DM has a message). */
  askOnce(channel: string): void {
    const peer = dmPeer(channel, this.me);
    if (peer === undefined || this.presence.has(peer) || this.askedOnce.has(peer)) return;
    this.askedOnce.add(peer);
    void this.ask([peer]);
  }

  typed(channel: string, user: string): void {
    this.typing.set(channel, { user, until: Date.now() + TYPING_SHOWN_MS });
    this.changed();
    window.setTimeout(this.changed, TYPING_SHOWN_MS + 50);
  }

  /** Their message came: they are no longer typing it. */
  sent(channel: string): void {
    this.typing.delete(channel);
  }

  /** The open conversation's header line: typing, else online or last seen, else nothing known. */
  status(channel: string): StatusLine {
    const peer = dmPeer(channel, this.me);
    const typing = this.typing.get(channel);
    if (typing !== undefined && typing.until > Date.now()) {
      return { text: peer === undefined ? `${typing.user} is typing…` : "typing…", className: "status typing-now" };
    }
    const seen = peer === undefined ? undefined : this.presence.get(peer);
    if (seen === undefined) return { text: peer === undefined ? "group" : "", className: "status" };
    if (seen.online) return { text: "online", className: "status online" };
    return { text: seen.lastSeen !== undefined ? lastSeen(seen.lastSeen) : "offline", className: "status" };
  }
}
