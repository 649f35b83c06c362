/** The client's side of the typing throttle: the server delivers at most one `typing` frame
 * per (user, channel) per 3 s and drops the rest, so a device sends no more than that. */

export const TYPING_INTERVAL_MS = 3000;

export class TypingThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly intervalMs: number = TYPING_INTERVAL_MS,
  ) {}

  /** Whether a frame for `channel` may go out now; if so, it counts as gone. */
  take(channel: string): boolean {
    const now = this.now();
    const last = this.last.get(channel);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.last.set(channel, now);
    return true;
  }
}
