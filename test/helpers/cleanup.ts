// test/helpers: teardown for test files that start servers and engines — what a test pushes runs once the file's
// tests are done, newest first (an engine closes before the backend it forwards to).
import { after } from 'node:test';

/** Registers an after() hook for this test file and returns the list it drains. */
export function cleanupsAfterAll(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });
  return cleanups;
}
