/** A `ws` WebSocket the test can watch and break: it counts every frame in and out, and can
 * drop outgoing frames (lost acks) or incoming ones (a lost sendack) as a flaky network
 * would. */

import WebSocket from "ws";
import type { WebSocketConstructor, WebSocketLike } from "../src/index.js";

export type Frame = Record<string, unknown>;

export interface Tap {
  /** Every frame the server sent, parsed, in order (dropped ones included). */
  received: Frame[];
  sent: Frame[];
  /** Drop this outgoing frame (it never reaches the server). */
  dropOut?: (frame: Frame) => boolean;
  /** Drop this incoming frame (the client never sees it). */
  dropIn?: (frame: Frame) => boolean;
  /** Sockets opened so far. */
  opened: number;
}

export function newTap(): Tap {
  return { received: [], sent: [], opened: 0 };
}

/** A WebSocket constructor bound to `tap`. */
export function tapped(tap: Tap): WebSocketConstructor {
  return class TappedSocket implements WebSocketLike {
    private readonly ws: WebSocket;
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: unknown) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;

    constructor(url: string) {
      tap.opened += 1;
      this.ws = new WebSocket(url);
      this.ws.onopen = (event) => this.onopen?.(event);
      this.ws.onclose = (event) => this.onclose?.(event);
      this.ws.onerror = (event) => this.onerror?.(event);
      this.ws.onmessage = (event) => {
        const data = event.data as string; // text frames only: Courier sends JSON
        const frame = JSON.parse(data) as Frame;
        tap.received.push(frame);
        if (!tap.dropIn?.(frame)) this.onmessage?.({ data });
      };
    }

    get readyState(): number {
      return this.ws.readyState;
    }

    send(data: string): void {
      const frame = JSON.parse(data) as Frame;
      tap.sent.push(frame);
      if (!tap.dropOut?.(frame)) this.ws.send(data);
    }

    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }
  };
}

/** How many copies of (channel, seq) the server pushed as `message` frames. */
export function pushed(tap: Tap, channel: string, seq: number): number {
  return tap.received.filter((f) => f.type === "message" && f.channel === channel && f.seq === seq)
    .length;
}
