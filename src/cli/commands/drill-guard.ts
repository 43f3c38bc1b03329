/**
 * What a drill on real servers does before and around its fault: a typed confirmation (a
 * refusal changes nothing), then an interrupt that stops the drill only before the fault;
 * once the fault is injected the recovery it started runs to the end, since cutting it off
 * could leave the dataset without a primary.
 */
import { RefusedError } from '../../errors.js';
import { confirmTyped } from '../confirm.js';
import { ownShutdown } from '../shutdown.js';

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
  /** Aborted by SIGINT or SIGTERM: the drill checks it before the fault. */
  signal: AbortSignal;
  /** Stops listening for signals. */
  dispose(): void;
}

/** `after` says what happens to an interrupt once the fault is in, e.g. "finishes the failover it started". */
export function interruptBeforeFault(after: string): DrillInterrupt {
  ownShutdown();
  const interrupt = new AbortController();
  const onSignal = () => {
    interrupt.abort();
    process.stderr.write(`lifeboat: the drill stops before the fault, or ${after}\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: interrupt.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
