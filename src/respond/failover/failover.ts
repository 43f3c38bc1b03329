/**
 * applyFailover: carries out a FailoverPlan step by step (fence, catch up, promote, route),
 * timing each. A failed step stops the run with an error that says where the world was left
 * (clients held at the router, the old primary stopped, the standby not promoted), so the
 * operator knows what to undo or finish.
 */
import { LifeboatError, OperationError, UsageError } from '../../errors.js';
import { fenceOnReturn, fenceWithCommand, stopPrimary, waitForLease, type FenceWatch } from './fence.js';
import { holdReadOnly } from './read-only-hold.js';
import { phaseOf, type FailoverPhase, type FailoverPlan, type FailoverStep } from './failover-plan.js';
import type { FailoverTopology } from './observe.js';
import { promoteStandby, waitForCatchUp, type Promotion } from './promote.js';
import type { ManagedServer } from './server.js';

export interface StepResult {
  kind: FailoverStep['kind'];
  phase: FailoverPhase;
  seconds: number;
  /** Epoch ms when the step finished. */
  endedAt: number;
}

export interface FailoverResult {
  mode: FailoverPlan['mode'];
  oldPrimary: string;
  newPrimary: string;
  /** Epoch ms when the first step began. */
  startedAt: number;
  steps: StepResult[];
  /** Seconds spent per phase. */
  seconds: Record<Exclude<FailoverPhase, 'after'>, number> & { total: number };
  promotion: Promotion;
  /** Running when the old primary could not be stopped: cancel it once it is no longer needed. */
  fenceWatch?: FenceWatch;
  warnings: string[];
}

export interface ApplyFailoverOptions {
  onStep?(step: FailoverStep, result: StepResult): void;
}

export async function applyFailover(
  plan: FailoverPlan,
  topology: FailoverTopology,
  options: ApplyFailoverOptions = {},
): Promise<FailoverResult> {
  const standby = topology.standbys.find((s) => s.name === plan.standby);
  if (!standby) throw new UsageError(`the plan promotes ${plan.standby}, which is not in the topology`);
  const primary = topology.primary;
  const started = performance.now();
  const startedAt = Date.now();
  const steps: StepResult[] = [];
  const seconds = { fence: 0, catchup: 0, promote: 0, route: 0, total: 0 };
  let promotion: Promotion | undefined;
  let fenceWatch: FenceWatch | undefined;
  const done: string[] = [];

  for (const step of plan.steps) {
    const t0 = performance.now();
    try {
      switch (step.kind) {
        case 'block-router':
          await router(topology, step.router).block();
          done.push(`clients held at ${step.router}`);
          break;
        case 'pause-router':
          await router(topology, step.router).pause(step.timeoutMs);
          done.push(`clients held at ${step.router}`);
          break;
        case 'stop-primary':
          await stopPrimary(primary, step.mode);
          done.push(`${primary.name} stopped`);
          break;
        case 'fence-command':
          await fenceWithCommand(step);
          done.push(`${primary.name} stopped by ${step.fence.field}`);
          break;
        case 'wait-lease':
          await waitForLease(step.untilEpochMs);
          done.push(`${primary.name}'s lease ran out`);
          break;
        case 'wait-catchup':
          await waitForCatchUp(primary, standby, step.timeoutMs);
          break;
        case 'promote':
          promotion = await promoteStandby(standby, step.timeoutSeconds);
          done.push(`${standby.name} promoted`);
          break;
        case 'route':
          await router(topology, step.router).switchTo(step.to);
          done.push(`clients sent to ${standby.name}`);
          break;
        case 'fence-on-return':
          fenceWatch = fenceOnReturn(primary);
          break;
      }
    } catch (error) {
      const released = await releaseHeldClients(plan, topology, step, promotion !== undefined);
      if (released) done.push(released);
      // What the step itself says to do (stop the primary by other means) comes after where things are.
      const advice = error instanceof LifeboatError && error.hint ? ` ${error.hint}` : '';
      throw new OperationError(`${plan.mode} stopped at "${step.kind}": ${(error as Error).message}`, {
        hint:
          (done.length
            ? `Done so far: ${done.join('; ')}. Finish or undo by hand from there.`
            : 'Nothing was changed yet.') + advice,
        cause: error,
        details: { step: step.kind, done },
      });
    }
    const result: StepResult = {
      kind: step.kind,
      phase: phaseOf[step.kind],
      seconds: (performance.now() - t0) / 1000,
      endedAt: Date.now(),
    };
    steps.push(result);
    if (result.phase !== 'after') seconds[result.phase] += result.seconds;
    options.onStep?.(step, result);
  }
  if (!promotion) throw new OperationError(`the ${plan.mode} plan had no promote step`);
  const warnings = [...plan.warnings];
  if (plan.steps.some((s) => s.kind === 'stop-primary')) {
    // Stopped is not enough: a reboot or a service manager would start it writable again.
    try {
      if (
        !holdReadOnly(
          primary.dataDir,
          `${plan.mode}: ${standby.name} was promoted in place of ${primary.name}`,
        )
      )
        warnings.push(
          `${primary.name}'s data directory is not on this host: if it is started again it comes back writable; keep it down or rebuild it as a standby`,
        );
    } catch (error) {
      warnings.push(`could not mark ${primary.name} to start read-only: ${(error as Error).message}`);
    }
  }
  seconds.total = (performance.now() - started) / 1000;
  return {
    mode: plan.mode,
    oldPrimary: primary.name,
    newPrimary: standby.name,
    startedAt,
    steps,
    seconds,
    promotion,
    ...(fenceWatch ? { fenceWatch } : {}),
    warnings,
  };
}

/**
 * A run abandoned after clients were held, before anything was promoted: they are sent back
 * to the old primary instead of waiting for a primary that will not come. Where it still
 * runs they carry on there; where it was stopped they get an error at once, which is loud,
 * where a held client would only hang. Returns what was done, for the error's hint.
 */
async function releaseHeldClients(
  plan: FailoverPlan,
  topology: FailoverTopology,
  failed: FailoverStep,
  promoted: boolean,
): Promise<string | undefined> {
  const held = plan.steps
    .slice(0, plan.steps.indexOf(failed))
    .find(
      (s): s is Extract<FailoverStep, { kind: 'block-router' | 'pause-router' }> =>
        s.kind === 'block-router' || s.kind === 'pause-router',
    );
  if (!held || promoted || failed.kind === 'promote' || failed.kind === 'route') return undefined;
  const old = topology.primary;
  try {
    await router(topology, held.router).switchTo({ name: old.name, ...old.endpoint });
    return `clients released to ${old.name} again (nothing was promoted)`;
  } catch (error) {
    return `clients are still held at ${held.router}: releasing them failed (${(error as Error).message})`;
  }
}

function router(topology: FailoverTopology, name: string) {
  if (!topology.router || topology.router.name !== name)
    throw new UsageError(`the plan routes through ${name}, which is not in the topology`);
  return topology.router;
}

/** The server a plan names, for callers that hold the topology. */
export function serverNamed(topology: FailoverTopology, name: string): ManagedServer | undefined {
  return [topology.primary, ...topology.standbys].find((s) => s.name === name);
}
