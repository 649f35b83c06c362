// Who signs in: a user id and a device id, checked as the server checks them, and kept
// for the form (last used in this browser) and for reloads (this tab). The token comes
// from admin.ts: a local-only convenience.

import { USER_ID } from "../../client-ts/src/ids.ts";

export interface Identity {
  user: string;
  device: string;
}

const LAST_IDENTITY = "courier-web:last-identity";
const TAB_IDENTITY = "courier-web:tab-identity";

/** Why an id is refused, or null when the server would take it. */
export function idProblem(what: string, id: string): string | null {
  if (id === "") return `Enter a ${what} id.`;
  if (!USER_ID.test(id)) return `A ${what} id is 1–64 of A–Z a–z 0–9 _ . - (no spaces).`;
  return null;
}

/** The identity used last in this browser, to fill the form. */
export function lastIdentity(): Identity | null {
  return saved(() => localStorage, LAST_IDENTITY);
}

/** The identity this tab is signed in as, so that a reload stays signed in (per tab: two
 * tabs can be two users, or two devices of one). */
export function tabIdentity(): Identity | null {
  return saved(() => sessionStorage, TAB_IDENTITY);
}

export function rememberIdentity(who: Identity): void {
  save(() => localStorage, LAST_IDENTITY, who);
  save(() => sessionStorage, TAB_IDENTITY, who);
}

export function forgetTabIdentity(): void {
  save(() => sessionStorage, TAB_IDENTITY, null);
}

function saved(storage: () => Storage, key: string): Identity | null {
  try {
    const who = JSON.parse(storage().getItem(key) ?? "null") as Partial<Identity> | null;
    if (typeof who?.user === "string" && typeof who.device === "string") return { user: who.user, device: who.device };
  } catch {
    // storage off (private mode) or a damaged entry: the same as none
  }
  return null;
}

function save(storage: () => Storage, key: string, who: Identity | null): void {
  try {
    if (who === null) storage().removeItem(key);
    else storage().setItem(key, JSON.stringify(who));
  } catch {
    // storage may be off: the form simply starts empty next time
  }
}
