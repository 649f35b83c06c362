/** `Connection`: the socket under a client. It opens one WebSocket after another (backoff with
 * jitter between them), pings a quiet one, matches replies to requests by `requestId`, and
 * hands every other frame to its `Session`. It knows nothing of messages or unread. */

import { NotConnectedError, RequestError } from "./errors.js";
import { newId } from "./ids.js";
import type { Frame, WebSocketConstructor, WebSocketLike } from "./types.js";

const OPEN = 1;

export interface ConnectionOptions {
  pingIntervalMs: number;
  requestTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How often `Session.tick` runs while a socket is open. */
  tickMs: number;
  now: () => number;
}

/** One open socket, as the session sees it: closing it makes the connection open another. */
export interface Link {
  /** Close this socket (a no-op once another has replaced it). */
  close(): void;
}

/** What the client does with each socket. */
export interface Session {
  /** A socket opened: catch up on it. */
  opened(link: Link): void;
  /** A frame; `reply` if it answers a request made on this socket (already handed to it). */
  frame(frame: Frame, reply: boolean): void;
  /** Every `tickMs` while open. */
  tick(): void;
  /** The open socket closed. */
  closed(): void;
}

interface PendingRequest {
  resolve(frame: Frame): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  probe: boolean;
}

interface Outcome {
  opened: boolean;
  status?: number;
}

function parse(data: unknown): Frame | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const frame: unknown = JSON.parse(data);
    return typeof frame === "object" && frame !== null && !Array.isArray(frame)
      ? (frame as Frame)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status of a refused handshake, where the implementation tells it (`ws` does, in
 * the error's message; browsers never do). */
function handshakeStatus(event: unknown): number | undefined {
  const candidates = [
    (event as { message?: unknown } | null)?.message,
    (event as { error?: { message?: unknown } } | null)?.error?.message,
  ];
  for (const text of candidates) {
    const match = typeof text === "string" ? /server response: (\d{3})/.exec(text) : null;
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}

export class Connection {
  private socket: WebSocketLike | undefined; // opening or open
  private ws: WebSocketLike | undefined; // open
  private readonly pending = new Map<string, PendingRequest>();
  private lastTraffic = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private pinging = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    /** The URL to open next (it carries the token, which may have been refreshed). */
    private readonly url: () => Promise<string>,
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly options: ConnectionOptions,
    private readonly session: Session,
  ) {}

  get open(): boolean {
    return this.ws !== undefined && this.ws.readyState === OPEN;
  }

  /** Open sockets one after another until `stop`; resolves then, or with the HTTP status of
   * a refused handshake (401/403: the token is bad, trying again is pointless). */
  async run(refusals: ReadonlySet<number>): Promise<number | undefined> {
    this.stopped = false;
    let attempt = 0;
    while (!this.isStopped()) {
      const outcome = await this.connectOnce(await this.url());
      if (outcome.opened) attempt = 0;
      if (outcome.status !== undefined && refusals.has(outcome.status)) return outcome.status;
      if (this.isStopped()) break;
      const delay = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** attempt);
      attempt += 1;
      await this.sleep(delay * (0.5 + Math.random() / 2));
    }
    return undefined;
  }

  /** Stop reconnecting and close the socket; `run` resolves once it has closed. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.socket?.close();
  }

  /** `stopped` as it is now (stop() may have run while awaiting). */
  private isStopped(): boolean {
    return this.stopped;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One socket, from opening to closed. */
  private connectOnce(url: string): Promise<Outcome> {
    return new Promise((resolve) => {
      let ws: WebSocketLike;
      try {
        ws = new this.WebSocketImpl(url);
      } catch {
        resolve({ opened: false });
        return;
      }
      this.socket = ws;
      let opened = false;
      let status: number | undefined;
      ws.onopen = () => {
        opened = true;
        if (this.stopped) ws.close();
        else this.serve(ws);
      };
      ws.onmessage = (event: { data?: unknown }) => {
        if (this.ws === ws) this.receive(event.data);
      };
      ws.onerror = (event: unknown) => {
        status ??= handshakeStatus(event);
      };
      ws.onclose = () => {
        if (this.ws === ws) this.served();
        if (this.socket === ws) this.socket = undefined;
        resolve(status === undefined ? { opened } : { opened, status });
      };
    });
  }

  private serve(ws: WebSocketLike): void {
    this.ws = ws;
    this.lastTraffic = this.options.now();
    this.ticker = setInterval(() => void this.tick(ws), this.options.tickMs);
    this.session.opened({
      close: () => {
        if (this.ws === ws) ws.close();
      },
    });
  }

  private served(): void {
    this.ws = undefined;
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new NotConnectedError("disconnected"));
    }
    this.pending.clear();
    this.session.closed();
  }

  private receive(data: unknown): void {
    this.lastTraffic = this.options.now();
    const frame = parse(data);
    if (frame === undefined) return;
    const requestId = frame.requestId;
    const request = typeof requestId === "string" ? this.pending.get(requestId) : undefined;
    if (request === undefined) {
      this.session.frame(frame, false);
      return;
    }
    this.pending.delete(requestId as string);
    clearTimeout(request.timer);
    if (frame.type === "error") request.reject(new RequestError(frame));
    else request.resolve(frame);
    if (!request.probe && frame.type !== "error") this.session.frame(frame, true);
  }

  /** The session's upkeep, then a ping if the socket has been quiet for `pingIntervalMs`:
   * no pong in time means the socket is dead, so it is closed (and another opened). */
  private async tick(ws: WebSocketLike): Promise<void> {
    this.session.tick();
    const quiet = this.options.now() - this.lastTraffic >= this.options.pingIntervalMs;
    if (this.pinging || !quiet) return;
    this.pinging = true;
    try {
      await this.request({ action: "ping" });
    } catch {
      if (this.ws === ws) ws.close();
    } finally {
      this.pinging = false;
    }
  }

  /** Send a frame if a socket is open; false if it could not go out. */
  send(frame: Frame): boolean {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      return false;
    }
    this.lastTraffic = this.options.now();
    return true;
  }

  /** Send a frame with a fresh requestId and resolve with its reply (`RequestError` for an
   * `error` one, `NotConnectedError` without a socket, or without a reply in time). The
   * reply also goes to the session unless `probe` (it is the caller's alone). */
  request(frame: Frame, probe = false): Promise<Frame> {
    const requestId = newId();
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new NotConnectedError(`no reply in ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer, probe });
      if (!this.send({ ...frame, requestId })) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(new NotConnectedError("not connected"));
      }
    });
  }
}
