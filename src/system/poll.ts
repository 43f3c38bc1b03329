/** Waiting for a condition that another process brings about: a server up, a replica caught up. */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../errors.js';

export interface PollOptions {
  /** Default 50 ms. */
  intervalMs?: number;
  /**
   * Consulted before every probe: an error ends the wait at once, so that a server that
   * died while starting is reported then, not after the timeout.
   */
  failed?: () => Error | undefined;
  /** The error once the time is up; default: an OperationError naming `what`, hinting the probe's last error. */
  timedOut?: (lastError: unknown) => Error;
}

/** Polls `probe` until it returns true; a probe that throws counts as false until the deadline. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  options: PollOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const failure = options.failed?.();
    if (failure !== undefined) throw failure;
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw (
        options.timedOut?.(lastError) ??
        new OperationError(`${what} within ${Math.round(timeoutMs / 1000)} s`, {
          ...(lastError === undefined ? {} : { cause: lastError, hint: (lastError as Error).message }),
        })
      );
    await sleep(options.intervalMs ?? 50);
  }
}
