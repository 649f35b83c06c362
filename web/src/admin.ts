// The local stack's admin API, called from the page: tokens and groups.
//
// LOCAL-ONLY CONVENIENCE. `make run`'s admin API answers without any authentication, so
// this page can mint a token for whoever it likes and make any group. A deployed
// Courier's admin API is IAM-only (SigV4): a real app gets its tokens from its own
// backend, after its own sign-in, manages groups there too, and never lets a browser
// call the admin API.

import type { Identity } from "./login.ts";

const TOKEN_TTL_SECONDS = 12 * 3600;

/** A JSON call on this page's origin; the reply's object, or an error naming the refusal. */
async function call(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const reply = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const payload = (await reply.json().catch(() => null)) as Record<string, unknown> | null;
  if (!reply.ok || payload === null || typeof payload !== "object") {
    const message = payload?.message;
    throw new Error(`the admin API said HTTP ${reply.status}${typeof message === "string" ? `: ${message}` : ""}`);
  }
  return payload;
}

/** A token for (user, device). The SDK asks for the next one itself before this one expires. */
export async function fetchToken(who: Identity): Promise<string> {
  const reply = await call("POST", "/admin/tokens", { user: who.user, device: who.device, ttlSeconds: TOKEN_TTL_SECONDS });
  if (typeof reply.token !== "string") throw new Error("the admin API sent no token");
  return reply.token;
}

/** Make the group, or give an existing one these members (the admin API replaces them). */
export async function putGroup(group: string, members: string[]): Promise<void> {
  await call("PUT", `/admin/groups/${encodeURIComponent(group)}`, { members });
}
