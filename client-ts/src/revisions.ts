/** Which state of a message a client keeps when recalls and edits arrive late, twice or out
 * of order: a recall is final, and otherwise the highest `version` seen wins. */

import type { Frame } from "./types.js";

/** The part of a message that recall and edit change. A recalled message has no body. */
export interface Revision {
  recalled: boolean;
  /** 0 until the first edit. */
  version: number;
  body: unknown;
  editedAt?: number;
}

export const RECALLED: Revision = { recalled: true, version: 0, body: undefined };

/** The revision a `message` frame, a sync item, a `lastMessage` or an `edit` frame carries. */
export function revisionOf(carrier: Frame): Revision {
  if (carrier.recalled === true) return RECALLED;
  const revision: Revision = {
    recalled: false,
    version: typeof carrier.version === "number" ? carrier.version : 0,
    body: carrier.body,
  };
  if (typeof carrier.editedAt === "number") revision.editedAt = carrier.editedAt;
  return revision;
}

/** The revision to keep of the one held and one just seen. */
export function latest(held: Revision, seen: Revision): Revision {
  if (held.recalled || seen.recalled) return RECALLED;
  return seen.version > held.version ? seen : held;
}

/** Whether keeping `kept` instead of `held` changes nothing the UI shows. */
export function sameRevision(held: Revision, kept: Revision): boolean {
  return held.recalled === kept.recalled && held.version === kept.version;
}
