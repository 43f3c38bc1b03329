/**
 * A pause at a named point, for tests that must kill a Lifeboat process at an exact moment
 * (a throwaway server running, its data restored). LIFEBOAT_TEST_PAUSE names the point;
 * unset, as in every real run, nothing waits.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits (up to 10 minutes, long enough to be killed) when LIFEBOAT_TEST_PAUSE is `point`. */
export async function pauseAt(point: string): Promise<void> {
  if (process.env.LIFEBOAT_TEST_PAUSE === point) await sleep(600_000);
}
