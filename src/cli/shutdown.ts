/**
 * Who ends the process on SIGINT/SIGTERM. By default the CLI entry leaves two seconds after
 * the signal, enough for child processes' cleanup. A command whose work must not be cut off
 * half-way (a failover in progress, a scheduler recording an interrupted run) takes the
 * shutdown over and returns when it is done.
 */
import { interruptOnSignals, type Interrupt } from '../system/signals.js';

export type { Interrupt } from '../system/signals.js';

let owned = false;

export function ownShutdown(): void {
  owned = true;
}

export function shutdownOwned(): boolean {
  return owned;
}

/**
 * For work that stops cleanly by itself: takes the shutdown over and hands the work an
 * AbortSignal that SIGINT/SIGTERM abort. `onSignal` (e.g. a line saying what happens now)
 * runs on each signal before the abort.
 */
export function ownShutdownUntilDone(onSignal?: (signal: NodeJS.Signals, first: boolean) => void): Interrupt {
  ownShutdown();
  return interruptOnSignals(onSignal);
}

/**
 * For work the CLI entry may still end two seconds after the signal (throwaway servers):
 * the signal only aborts it, so that it stops what it started in time.
 */
export function abortOnSignals(): Interrupt {
  return interruptOnSignals();
}
