// test/helpers: waiting in tests for in-process state (a client event, a server record) — checks every 10 ms,
// bounded, and names what it waited for when it gives up.

/** Resolves with f()'s first truthy value; throws "timed out waiting for <what>" after about `ms`. */
export async function waitFor<T>(what: string, f: () => T | undefined | false, ms = 5000): Promise<T> {
  for (let i = 0; i < ms / 10; i++) {
    const v = f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
