/** Ids: the user of a token, fresh clientMsgNos and requestIds, and lists of user ids checked
 * as the server checks them (so what it would refuse as `invalid` is refused here). */

/** A user (or device, or group) id as the server accepts it. */
export const USER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export const MAX_MENTIONS = 50;
export const MAX_PRESENCE_USERS = 100;

/** User ids the server would refuse as `invalid`: nothing was sent or queued. */
export class InvalidUserIdsError extends Error {
  override name = "InvalidUserIdsError";
}

/** A random 32-hex-digit id. `crypto.getRandomValues` where the platform has it (browsers,
 * Node, React Native with a polyfill), else Math.random (ids need to be unique, not secret). */
export function newId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } })
    .crypto;
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64UrlDecode(text: string): string {
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text.replace(/=+$/, "")) {
    const digit = BASE64URL.indexOf(char === "+" ? "-" : char === "/" ? "_" : char);
    if (digit < 0) throw new Error("token: not base64url");
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return decodeURIComponent(bytes.map((b) => "%" + b.toString(16).padStart(2, "0")).join(""));
}

/** The claims of a JWT the client uses (read, not verified: the server verifies them): `sub`,
 * the user, and `exp`, when it expires (epoch seconds), if it says. */
export function tokenClaims(token: string): { sub: string; exp?: number } {
  const payload = token.split(".")[1];
  if (payload === undefined) throw new Error("token: not a JWT");
  const claims = JSON.parse(base64UrlDecode(payload)) as { sub?: unknown; exp?: unknown } | null;
  if (typeof claims?.sub !== "string") throw new Error("token: no sub claim");
  return typeof claims.exp === "number" ? { sub: claims.sub, exp: claims.exp } : { sub: claims.sub };
}

/** The `sub` claim of a JWT: its user. */
export function tokenUser(token: string): string {
  return tokenClaims(token).sub;
}

/** The ids as given, if the server would take them: `least` to `most` user ids, each once. */
export function checkedUserIds(users: readonly string[], most: number, least = 0): string[] {
  const given: unknown = users; // from JavaScript callers, anything
  if (!Array.isArray(given)) throw new InvalidUserIdsError("a list of user ids");
  const ids: string[] = [];
  for (const user of given as unknown[]) {
    if (typeof user !== "string" || !USER_ID.test(user)) {
      throw new InvalidUserIdsError(`not a user id: ${JSON.stringify(user)}`);
    }
    ids.push(user);
  }
  if (ids.length < least || ids.length > most) {
    const span = least === 0 ? `at most ${most}` : `${least} to ${most}`;
    throw new InvalidUserIdsError(`${span} user ids, not ${ids.length}`);
  }
  const repeated = [...new Set(ids.filter((u, i) => ids.indexOf(u) !== i))].sort();
  if (repeated.length > 0) {
    throw new InvalidUserIdsError(`named more than once: ${repeated.join(", ")}`);
  }
  return ids;
}
