/**
 * The fault and the response to it, the same for the sandbox and for a plan's dataset: the
 * detector watches the primary while the writer writes through the client endpoint; the
 * fault is injected; the automatic response runs; service is back at the first write the
 * serving server acknowledges after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../errors.js';
import { superviseFailover, type SuperviseOutcome } from '../respond/failover/auto-failover.js';
import type { FailoverOptions } from '../respond/failover/failover-plan.js';
import type { WatchOptions } from '../respond/failover/monitor.js';
import type { FailoverTopology } from '../respond/failover/observe.js';
import { pollUntil } from '../system/poll.js';
import type { Ack, Writer } from './failover-writer.js';

export type Cleanups = (() => Promise<unknown> | unknown)[];

export interface FaultRunOptions {
  topology: FailoverTopology;
  writer: Writer;
  watch: Omit<WatchOptions, 'url'>;
  failover: Omit<FailoverOptions, 'mode'>;
  /** On a crash, restart PostgreSQL in place before failing over. */
  restartInPlace: boolean;
  /** How long the writer runs before the fault. */
  warmupMs: number;
  /** What the fault is called in progress lines. */
  fault: string;
  inject(): void;
  /** The promoted standby acknowledged this write. */
  fromNew(ack: Ack): boolean;
  /** The old primary acknowledged this write. */
  fromOld(ack: Ack): boolean;
  /** Aborted before the fault: stop without injecting it. Once injected, the response runs to its end. Default: none. */
  signal?: AbortSignal;
  /** Undone in reverse order whatever happens; runFault adds what it starts. */
  cleanups: Cleanups;
  progress(line: string): void;
}

/** The responses a drill measures: the others mean the drill could not run. */
export type DrillOutcome = Exclude<SuperviseOutcome, { outcome: 'refused' | 'approval-needed' }>;

export interface FaultRun {
  outcome: DrillOutcome;
  /** Epoch ms of the fault. */
  faultAt: number;
  /** Epoch ms of the first write acknowledged after it by the server that now serves. */
  firstAckAt: number;
}

/** Injects the fault once the detector sees the standby streaming; the writer is stopped on return. */
export async function runFault(options: FaultRunOptions): Promise<FaultRun> {
  const { writer, progress } = options;
  const supervisor = superviseFailover({
    topology: options.topology,
    watch: options.watch,
    decision: 'automatic',
    failover: options.failover,
    restartInPlace: options.restartInPlace,
  });
  options.cleanups.push(() => supervisor.stop());
  const warm = await writer.waitForAck(() => true, 30_000);
  if (!warm) throw new OperationError('the drill writer got no acknowledgement before the fault');
  // The failover's RPO check needs the detector to have seen the standby streaming.
  await pollUntil(
    async () => supervisor.lastSample()?.replicas.some((r) => r.state === 'streaming') === true,
    30_000,
    'the detector did not see the standby streaming',
  );
  await sleep(options.warmupMs);
  if (options.signal?.aborted)
    throw new OperationError('the drill was interrupted before the fault', {
      hint: 'Nothing was failed over; the drill table is dropped.',
    });

  const faultAt = Date.now();
  options.inject();
  progress(`${options.fault} injected after ${writer.acks.length} acknowledged writes`);
  // Past the deadline the failover may still fail later: that must not surface unhandled.
  supervisor.done.catch(() => undefined);
  const outcome = await withDeadline(supervisor.done, 90_000, 'the failover did not finish');
  if (!outcome) throw new OperationError('the detector stopped without declaring the primary lost');
  if (outcome.outcome === 'failed-over') options.cleanups.push(() => outcome.result.fenceWatch?.cancel());
  if (outcome.outcome === 'refused' || outcome.outcome === 'approval-needed')
    throw new OperationError(
      `the automatic failover did not run: ${outcome.outcome === 'refused' ? outcome.error.message : 'approval needed'}`,
      outcome.outcome === 'refused' ? { cause: outcome.error } : {},
    );
  // Restored service: a write acknowledged by the new primary, or after a restart in place by
  // the old one once it was declared lost (an answer in flight at the fault does not count).
  const restored =
    outcome.outcome === 'failed-over'
      ? (a: Ack) => a.at > faultAt && options.fromNew(a)
      : (a: Ack) => a.at > outcome.loss.declaredAt && options.fromOld(a);
  const firstAck = await writer.waitForAck(restored, 60_000);
  if (!firstAck) throw new OperationError('no write was acknowledged through the router after the failover');
  await sleep(300);
  await writer.stop();
  progress(`first write acknowledged ${((firstAck.at - faultAt) / 1000).toFixed(2)} s after the fault`);
  return { outcome, faultAt, firstAckAt: firstAck.at };
}

export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OperationError(`${what} within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
