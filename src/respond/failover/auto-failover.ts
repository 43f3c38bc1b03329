/**
 * The detector wired to the response: watch the primary; when it is lost, do what the
 * scenario's decision says. `automatic`: restart in place first when PostgreSQL crashed on a
 * host that answers (and the plan allows it), else observe, plan and apply a failover.
 * Anything else: report the loss and wait for a person (the runbook's approval gate). A loss
 * during a handover someone announced is theirs, not ours: nothing is reported or done.
 */
import { RefusedError } from '../../errors.js';
import { applyFailover, type FailoverResult } from './failover.js';
import { planFailover, type FailoverOptions, type FailoverPlan } from './failover-plan.js';
import { watchPrimary, type PrimaryLoss, type PrimarySample, type WatchOptions } from './monitor.js';
import { observeFailover, type FailoverTopology } from './observe.js';
import { restartInPlace } from './restart.js';

export type Decision = 'automatic' | 'approval' | 'full-dr';

export interface SuperviseOptions {
  topology: FailoverTopology;
  /** Detector settings; the url is the primary's. */
  watch?: Omit<WatchOptions, 'url'>;
  /** The scenario's decision. */
  decision: Decision;
  failover?: Omit<FailoverOptions, 'mode'>;
  /** On a crash (the host answers), try restarting PostgreSQL where it is before failing over. Default: false. */
  restartInPlace?: boolean;
  onEvent?(event: SuperviseEvent): void;
}

/** For a watch that shares the dataset with people who hand it over (handover-announce.ts). */
export interface HandoverAwareOptions extends SuperviseOptions {
  /**
   * Asked once the primary is lost, before anything is reported: who is handing it over on
   * purpose, if anyone. Then the loss is theirs: nothing is reported or done. Default: nobody.
   */
  handoverUnderway?(): string | undefined;
  /**
   * Asked right before acting (a restart in place, or the failover once planned): undefined
   * to go on, or who is handing the primary over meanwhile (then nothing is done). Default: go on.
   */
  beforeActing?(action: { kind: 'restart' } | { kind: 'failover'; plan: FailoverPlan }): string | undefined;
}

export type SuperviseEvent =
  | { type: 'lost'; loss: PrimaryLoss }
  | { type: 'restart-failed'; error: string }
  | { type: 'planned'; plan: FailoverPlan };

export type SuperviseOutcome =
  | { outcome: 'restarted'; loss: PrimaryLoss; seconds: number }
  | { outcome: 'failed-over'; loss: PrimaryLoss; plan: FailoverPlan; result: FailoverResult }
  | { outcome: 'approval-needed'; loss: PrimaryLoss }
  | { outcome: 'refused'; loss: PrimaryLoss; error: Error };

export type HandoverAwareOutcome =
  | SuperviseOutcome
  /** Someone else is handing the primary over: `by` says who. */
  | { outcome: 'handover-underway'; loss: PrimaryLoss; by: string }
  /** Automatic, but no standby of this primary is known: nothing to promote. */
  | { outcome: 'no-standby'; loss: PrimaryLoss };

export interface Supervisor<Outcome = SuperviseOutcome> {
  /** Resolves after the response to a loss; undefined when stopped before any loss. */
  readonly done: Promise<Outcome | undefined>;
  /** The detector's last successful look at the primary (and its standbys). */
  lastSample(): PrimarySample | undefined;
  stop(): void;
}

export function superviseFailover(options: SuperviseOptions): Supervisor {
  const supervisor = superviseHandoverAware(options);
  // Without the hooks nobody else hands over; a topology without a standby is refused as
  // planFailover refuses a plan that names none.
  const done = supervisor.done.then((outcome): SuperviseOutcome | undefined =>
    outcome?.outcome === 'handover-underway' || outcome?.outcome === 'no-standby'
      ? {
          outcome: 'refused',
          loss: outcome.loss,
          error: new RefusedError('no standby to promote', {
            hint: 'Name the standby in the plan (datasets.ID.replication.standby).',
          }),
        }
      : outcome,
  );
  return { ...supervisor, done };
}

/** The same, for `lifeboat watch`: a loss during an announced handover is not ours to answer. */
export function superviseHandoverAware(options: HandoverAwareOptions): Supervisor<HandoverAwareOutcome> {
  const { topology } = options;
  const watch = watchPrimary({ ...options.watch, url: topology.primary.url });
  const done = watch.lost.then(async (loss) => (loss ? respond(options, loss) : undefined));
  return { done, lastSample: () => watch.lastSample(), stop: () => watch.stop() };
}

async function respond(options: HandoverAwareOptions, loss: PrimaryLoss): Promise<HandoverAwareOutcome> {
  const { topology } = options;
  const underway = options.handoverUnderway?.();
  if (underway !== undefined) return { outcome: 'handover-underway', loss, by: underway };
  options.onEvent?.({ type: 'lost', loss });
  if (options.decision !== 'automatic') return { outcome: 'approval-needed', loss };
  if (options.restartInPlace && loss.failure === 'refused' && (await topology.primary.agentReachable())) {
    const by = options.beforeActing?.({ kind: 'restart' });
    if (by !== undefined) return { outcome: 'handover-underway', loss, by };
    try {
      const restarted = await restartInPlace(topology.primary);
      return { outcome: 'restarted', loss, seconds: restarted.seconds };
    } catch (error) {
      options.onEvent?.({ type: 'restart-failed', error: (error as Error).message });
    }
  }
  if (topology.standbys.length === 0) return { outcome: 'no-standby', loss };
  const observed = await observeFailover(topology, {
    loss: {
      failure: loss.failure,
      message: loss.message,
      ...(loss.lastSample ? { lastSample: loss.lastSample } : {}),
    },
  });
  let plan: FailoverPlan;
  try {
    plan = planFailover(observed, { ...options.failover, mode: 'failover' });
  } catch (error) {
    return { outcome: 'refused', loss, error: error as Error };
  }
  const by = options.beforeActing?.({ kind: 'failover', plan });
  if (by !== undefined) return { outcome: 'handover-underway', loss, by };
  options.onEvent?.({ type: 'planned', plan });
  const result = await applyFailover(plan, topology);
  return { outcome: 'failed-over', loss, plan, result };
}
