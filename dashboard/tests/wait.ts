// Waiting in tests for what happens a little later: a render, a socket event, a fetch.

/** Lets pending promises and timers of the code under test run (20 ms). */
export const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 20));

interface WaitOptions {
  /** Fail after this long. */
  timeoutMs?: number;
  /** Look again this often. */
  everyMs?: number;
  /** What to add to the failure, e.g. the page's text. */
  shown?: () => string | null;
}

/** A `waitFor(find, what)`: polls `find` until it returns something truthy and returns that,
 * or fails after `timeoutMs` naming `what`. */
export function waiting({ timeoutMs = 2000, everyMs = 20, shown }: WaitOptions = {}) {
  return async function waitFor<T>(find: () => T | null | undefined | false, what: string): Promise<T> {
    const start = Date.now();
    for (;;) {
      const found = find();
      if (found) return found;
      if (Date.now() - start > timeoutMs) {
        throw new Error(`timed out waiting for ${what}${shown ? `: ${shown()}` : ""}`);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
}
