/**
 * Fencing: making sure the old primary can never again acknowledge a write once another
 * server has been promoted. Four ways, strongest first: stop it on its host; stop it from
 * outside with the plan's fence command (a cloud API, a power switch); wait until the host's
 * own lease has stopped it; and for a primary that could not be reached, stop it (or at
 * least make it read-only) the moment it answers again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../../errors.js';
import type { FailoverStep } from './failover-plan.js';
import { fillFenceCommand, runFenceCommand } from './fence-command.js';
import type { ManagedServer } from './server.js';
import { query } from '../../stores/postgres/sql.js';
import { firstLines } from '../../system/tool.js';

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

export interface OldPrimaryGuard {
  cancel(): void;
}

export interface GuardEvent {
  /** `stopped` on its host, or made `read-only` over SQL when its host could not be reached. */
  action: 'stopped' | 'read-only';
  /** Epoch ms when it was found serving writes again. */
  returnedAt: number;
}

/**
 * Watches an old primary for as long as the new one serves: should it ever serve writes again
 * (started with its standby.signal removed, or on a host Lifeboat could not mark), it is
 * stopped on its host, else made read-only over SQL, and `onFenced` says so. One that comes
 * back in recovery (read-only, or rejoined as a standby) is left alone.
 */
export function guardOldPrimary(
  server: ManagedServer,
  onFenced: (event: GuardEvent) => void,
  options: { intervalMs?: number } = {},
): OldPrimaryGuard {
  const intervalMs = options.intervalMs ?? 200;
  const controller = new AbortController();
  void (async () => {
    while (!controller.signal.aborted) {
      if (await servesWrites(server)) {
        const returnedAt = Date.now();
        let action: GuardEvent['action'] | undefined;
        if (await server.agentReachable().catch(() => false))
          action = await server.stop('immediate').then(
            () => 'stopped' as const,
            () => undefined,
          );
        if (action === undefined && (await makeReadOnly(server))) action = 'read-only';
        if (action !== undefined && !controller.signal.aborted) onFenced({ action, returnedAt });
      }
      await sleep(intervalMs, undefined, { signal: controller.signal }).catch(() => undefined);
    }
  })();
  return { cancel: () => controller.abort() };
}

/** It answers over SQL, out of recovery, and not already read-only by default. */
async function servesWrites(server: ManagedServer): Promise<boolean> {
  try {
    const [row] = await query(
      server.url,
      `SELECT pg_is_in_recovery() AS recovery, current_setting('default_transaction_read_only') AS ro`,
      { timeoutMs: 1000 },
    );
    return row?.recovery === false && row.ro !== 'on';
  } catch {
    return false;
  }
}

/**
 * Stops the old primary with the plan's fence command (STONITH) and returns only once the
 * command has confirmed it, exit 0: anything else is an error, and nothing may be promoted.
 */
export async function fenceWithCommand(
  step: Extract<FailoverStep, { kind: 'fence-command' }>,
): Promise<void> {
  const { fence } = step;
  const command = fillFenceCommand(fence.command, step.target, fence.dataset);
  const run = await runFenceCommand(command, fence.timeoutMs);
  if (run.code === 0) return;
  const outcome = run.timedOut
    ? `did not finish within ${fence.timeoutMs / 1000}s and was killed`
    : `failed (exit ${run.code ?? 'by a signal'}): ${firstLines(run.output)}`;
  throw new OperationError(`could not fence ${step.server}: ${fence.field} ${outcome}`, {
    hint: `Until ${step.server} is known to be down, promoting another server could make two primaries. Stop it by other means (its console, its power) or fix the command, then fail over again.`,
    details: { step: step.kind, exitCode: run.code, timedOut: run.timedOut },
  });
}
