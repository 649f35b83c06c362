// Text shown on the page: names, bodies, mentions, times. Pure functions (no DOM).

import { USER_ID } from "../../client-ts/src/ids.ts";

// @user, not inside a word or an e-mail address; a dot that ends the sentence is not the id's.
const MENTION = /(?<![\w@.-])@([A-Za-z0-9_.-]{1,64})/g;

/** The DM channel of two users: `dm:<a>:<b>` with a < b in code-point order. */
export function dmChannel(me: string, other: string): string {
  return me < other ? `dm:${me}:${other}` : `dm:${other}:${me}`;
}

/** The other user of a DM channel, or undefined for a group. */
export function dmPeer(channel: string, me: string): string | undefined {
  const parts = channel.split(":");
  if (parts[0] !== "dm" || parts.length !== 3) return undefined;
  return parts[1] === me ? parts[2] : parts[1];
}

/** What the "start a chat" box asks for: `bob` (a DM), `#team` (a group you are in), or
 * `#team alice, bob` (make the group of you and them; an existing one gets these members). */
export type NewChat = { dm: string } | { group: string; members: string[] } | { problem: string };

export function parseNewChat(input: string, me: string): NewChat {
  const text = input.trim();
  if (!text.startsWith("#")) {
    if (!USER_ID.test(text)) return { problem: "Type a user id (A–Z a–z 0–9 _ . -), or #group user, user" };
    return text === me ? { problem: "That is you: pick someone else." } : { dm: text };
  }
  const [name = "", ...rest] = text.slice(1).split(/[\s,]+/).filter((part) => part !== "");
  if (!USER_ID.test(name)) return { problem: "A group name is 1–64 of A–Z a–z 0–9 _ . -" };
  const bad = rest.find((user) => !USER_ID.test(user));
  if (bad !== undefined) return { problem: `Not a user id: ${bad}` };
  return { group: name, members: rest.length === 0 ? [] : [...new Set([me, ...rest])].sort() };
}

/** What a conversation is called: the peer of a DM, `# name` for a group. */
export function channelTitle(channel: string, me: string): string {
  const peer = dmPeer(channel, me);
  if (peer !== undefined) return peer;
  return channel.startsWith("g:") ? `# ${channel.slice(2)}` : channel;
}

/** A body as text: its `text`, a plain string, or else its JSON. */
export function bodyText(body: unknown): string {
  if (typeof body === "string") return body;
  if (body !== null && typeof body === "object" && typeof (body as { text?: unknown }).text === "string") {
    return (body as { text: string }).text;
  }
  return JSON.stringify(body) ?? "";
}

/** The users a message mentions with @user, each once, in order of first mention. */
export function mentioned(text: string): string[] {
  const users = [...text.matchAll(MENTION)].map((m) => (m[1] ?? "").replace(/\.+$/, ""));
  return [...new Set(users.filter((u) => u !== ""))];
}

/** `text` cut into plain runs and @mentions (each mention with the user it names). */
export function mentionRuns(text: string): { text: string; user?: string }[] {
  const runs: { text: string; user?: string }[] = [];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const user = (match[1] ?? "").replace(/\.+$/, "");
    if (user === "") continue;
    const start = match.index ?? 0;
    if (start > at) runs.push({ text: text.slice(at, start) });
    runs.push({ text: `@${user}`, user });
    at = start + 1 + user.length;
  }
  if (at < text.length) runs.push({ text: text.slice(at) });
  return runs;
}

/** A clock time for today's messages, the date too for older ones. */
export function clock(ms: number, now: Date = new Date()): string {
  const when = new Date(ms);
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (when.toDateString() === now.toDateString()) return time;
  const sameYear = when.getFullYear() === now.getFullYear();
  const date = when.toLocaleDateString([], sameYear ? { month: "short", day: "numeric" } : { dateStyle: "medium" });
  return `${date} ${time}`;
}

/** "last seen 5 min ago" and the like, from an epoch-ms time. */
export function lastSeen(ms: number, now: number = Date.now()): string {
  const minutes = Math.max(0, Math.round((now - ms) / 60_000));
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `last seen ${hours} h ago`;
  return `last seen ${clock(ms)}`;
}

/** A stable hue (0-359) per id, for avatars. */
export function hue(id: string): number {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)!) % 360;
  return hash;
}
