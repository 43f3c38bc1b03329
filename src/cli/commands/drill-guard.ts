/**
 * What a drill on real servers does before and around its fault: a typed confirmation (a
 * refusal changes nothing), then an interrupt that stops the drill only before the fault;
 * once the fault is injected the recovery it started runs to the end, since cutting it off
 * could leave the dataset without a primary.
 */
import { RefusedError } from '../../errors.js';
import { confirmTyped } from '../confirm.js';
import { ownShutdownUntilDone, type Interrupt } from '../shutdown.js';

export async function confirmDrill(dataset: string, message: string, yes: boolean): Promise<void> {
  await confirmTyped({ expected: dataset, message, yes }).catch((error: unknown) => {
    throw error instanceof RefusedError
      ? new RefusedError(`the failover drill of ${dataset} was not confirmed: ${error.message}`, {
          hint: 'Confirm on a terminal by typing the dataset, or with --yes where there is none; nothing was changed.',
          cause: error,
        })
      : error;
  });
}

export interface DrillInterrupt {
  /** Aborted by SIGINT or SIGTERM once armed: the drill checks it before the fault. */
  signal: AbortSignal;
  /**
   * From now on (once the drill is confirmed) SIGINT and SIGTERM abort `signal`. `after`
   * says what happens to an interrupt once the fault is in, e.g. "finishes the failover it started".
   */
  arm(after: string): void;
  /** Stops listening for signals. */
  dispose(): void;
}

export function interruptBeforeFault(): DrillInterrupt {
  const interrupt = new AbortController();
  let listening: Interrupt | undefined;
  return {
    signal: interrupt.signal,
    arm: (after) => {
      listening ??= ownShutdownUntilDone(() => {
        interrupt.abort();
        process.stderr.write(`lifeboat: the drill stops before the fault, or ${after}\n`);
      });
    },
    dispose: () => listening?.dispose(),
  };
}
