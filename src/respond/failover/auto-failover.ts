/**
 * The detector wired to the response: watch the primary; when it is lost, do what the
 * scenario's decision says. `automatic`: restart in place first when PostgreSQL crashed on a
 * host that answers (and the plan allows it), else observe, plan and apply a failover.
 * Anything else: report the loss and wait for a person (the runbook's approval gate).
 */
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

export type SuperviseEvent =
  | { type: 'lost'; loss: PrimaryLoss }
  | { type: 'restart-failed'; error: string }
  | { type: 'planned'; plan: FailoverPlan };

export type SuperviseOutcome =
  | { outcome: 'restarted'; loss: PrimaryLoss; seconds: number }
  | { outcome: 'failed-over'; loss: PrimaryLoss; plan: FailoverPlan; result: FailoverResult }
  | { outcome: 'approval-needed'; loss: PrimaryLoss }
  | { outcome: 'refused'; loss: PrimaryLoss; error: Error };

export interface Supervisor {
  /** Resolves after the response to a loss; undefined when stopped before any loss. */
  readonly done: Promise<SuperviseOutcome | undefined>;
  /** The detector's last successful look at the primary (and its standbys). */
  lastSample(): PrimarySample | undefined;
  stop(): void;
}

export function superviseFailover(options: SuperviseOptions): Supervisor {
  const { topology } = options;
  const watch = watchPrimary({ ...options.watch, url: topology.primary.url });
  const done = watch.lost.then(async (loss) => (loss ? respond(options, loss) : undefined));
  return { done, lastSample: () => watch.lastSample(), stop: () => watch.stop() };
}

async function respond(options: SuperviseOptions, loss: PrimaryLoss): Promise<SuperviseOutcome> {
  const { topology } = options;
  options.onEvent?.({ type: 'lost', loss });
  if (options.decision !== 'automatic') return { outcome: 'approval-needed', loss };
  if (options.restartInPlace && loss.failure === 'refused' && (await topology.primary.agentReachable())) {
    try {
      const restarted = await restartInPlace(topology.primary);
      return { outcome: 'restarted', loss, seconds: restarted.seconds };
    } catch (error) {
      options.onEvent?.({ type: 'restart-failed', error: (error as Error).message });
    }
  }
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
  options.onEvent?.({ type: 'planned', plan });
  const result = await applyFailover(plan, topology);
  return { outcome: 'failed-over', loss, plan, result };
}
