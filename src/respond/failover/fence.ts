/**
 * Fencing: making sure the old primary can never again acknowledge a write once another
 * server has been promoted. Three ways, strongest first: stop it on its host; wait until
 * the host's own lease has stopped it; and for a primary that could not be reached, stop it
 * (or at least make it read-only) the moment it answers again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../../errors.js';
import type { ManagedServer } from './server.js';
import { query } from '../../stores/postgres/sql.js';

/** Stops the old primary on its host; `immediate` for a failover (no shutdown checkpoint to wait for). */
export async function stopPrimary(server: ManagedServer, mode: 'immediate' | 'fast'): Promise<void> {
  try {
    await server.stop(mode);
  } catch (error) {
    throw new OperationError(`could not fence ${server.name}: ${(error as Error).message}`, {
      hint: 'Stop it by hand (pg_ctl stop -m immediate) or cut it off the network before promoting anything.',
      cause: error,
    });
  }
}

/** Waits until `untilEpochMs`: the host's watchdog has stopped PostgreSQL by then. */
export async function waitForLease(untilEpochMs: number, signal?: AbortSignal): Promise<void> {
  const wait = untilEpochMs - Date.now();
  if (wait > 0) await sleep(wait, undefined, signal ? { signal } : undefined);
}

export interface FenceWatch {
  /** Resolves once the old primary has been stopped (or the watch was cancelled). */
  readonly done: Promise<FenceOutcome>;
  /** Stops watching. */
  cancel(): void;
}

export interface FenceOutcome {
  /** Epoch ms when its host or its SQL port answered again. */
  returnedAt?: number;
  /** Epoch ms when it was stopped on its host. */
  stoppedAt?: number;
  /** Made read-only over SQL because its host could not be reached to stop it. */
  madeReadOnlyAt?: number;
  cancelled: boolean;
}

/**
 * Watches an old primary that could not be stopped. When its host answers, stops it; when
 * only its SQL port answers, makes it read-only and ends every session there (a superuser
 * could still undo that, so watching goes on until the host answers and it is stopped).
 */
export function fenceOnReturn(server: ManagedServer, options: { intervalMs?: number } = {}): FenceWatch {
  const intervalMs = options.intervalMs ?? 100;
  const controller = new AbortController();
  const outcome: FenceOutcome = { cancelled: false };
  const done = (async (): Promise<FenceOutcome> => {
    while (!controller.signal.aborted) {
      if (await server.agentReachable().catch(() => false)) {
        outcome.returnedAt ??= Date.now();
        try {
          await server.stop('immediate');
          outcome.stoppedAt = Date.now();
          return outcome;
        } catch {
          // The host answers but the stop failed: try again on the next round.
        }
      } else if (outcome.madeReadOnlyAt === undefined && (await makeReadOnly(server))) {
        outcome.returnedAt ??= Date.now();
        outcome.madeReadOnlyAt = Date.now();
      }
      await sleep(intervalMs, undefined, { signal: controller.signal }).catch(() => undefined);
    }
    outcome.cancelled = true;
    return outcome;
  })();
  return { done, cancel: () => controller.abort() };
}

/** default_transaction_read_only for every new transaction, and no session left from before. */
async function makeReadOnly(server: ManagedServer): Promise<boolean> {
  try {
    await query(server.url, 'ALTER SYSTEM SET default_transaction_read_only = on', { timeoutMs: 1000 });
    await query(
      server.url,
      `SELECT pg_reload_conf(), count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      { timeoutMs: 1000 },
    );
    return true;
  } catch {
    return false;
  }
}
