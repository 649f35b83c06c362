/** Waiting in tests for something forced to happen: a poll with a hang guard, never a
 * timing assertion. */

/** Resolves once `check` holds; fails after `timeoutMs` (a hang guard only). */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
