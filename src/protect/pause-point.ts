/**
 * Named moments at which a test stops a real `lifeboat` process, to kill it exactly there
 * (the windows between a restic command and the state store write that follows it). With
 * LIFEBOAT_TEST_PAUSE_AT set to a moment's name, the process writes that name to the file
 * LIFEBOAT_TEST_PAUSED_FILE when it gets there, then waits to be killed. Unset, as outside
 * tests, it costs one lookup.
 */
import { writeFileSync } from 'node:fs';

export type PausePoint =
  | 'backup:units-ready'
  | 'backup:units-stored'
  | 'backup:manifest-stored'
  | 'verify:instance-started'
  | 'verify:restoring'
  | 'verify:proven'
  | 'prune:marked'
  | 'prune:forgotten';

export async function pausePoint(name: PausePoint): Promise<void> {
  if (process.env.LIFEBOAT_TEST_PAUSE_AT !== name) return;
  const file = process.env.LIFEBOAT_TEST_PAUSED_FILE;
  if (file) writeFileSync(file, name);
  // Kept alive by the timer until the test's SIGKILL.
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}

/**
 * The same, from a synchronous callback (a progress event) that cannot await: the whole
 * process stops there, so that the work after the callback does not go on meanwhile.
 */
export function pausePointSync(name: PausePoint): void {
  if (process.env.LIFEBOAT_TEST_PAUSE_AT !== name) return;
  const file = process.env.LIFEBOAT_TEST_PAUSED_FILE;
  if (file) writeFileSync(file, name);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
