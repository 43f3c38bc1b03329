/**
 * What the plan says to do when a dataset's primary is lost, read from the plan alone (no
 * I/O). The link is explicit in the plan: a scenario whose `detect` names a probe of the
 * dataset's source, and whose runbook fails the dataset over. That scenario's decision
 * (the first rung of its ladder) says whether Lifeboat acts alone, and the probe's own
 * timers are the detector's. A dataset no scenario covers this way is watched and reported,
 * never failed over automatically: acting without the plan's say-so is the worse mistake.
 */
import { parseDuration } from '../../plan/duration.js';
import type { Plan, Probe, Runbook } from '../../plan/schema.js';
import type { Decision } from './auto-failover.js';

export interface FailoverPolicy {
  dataset: string;
  /** The scenario that decides, when one covers the dataset. */
  scenario: string | undefined;
  decision: Decision;
  /** The probes that detect the loss (postgres probes of the dataset). */
  probes: string[];
  /** Detector timers, from the fastest of those probes. */
  intervalMs: number;
  timeoutMs: number;
  failures: number;
  /** Time from the last good look to the declaration: interval × failures. */
  detectAfterMs: number;
  /** Why the decision is what it is, for the operator. */
  reason: string;
}

/** Probe defaults, as the plan format documents them. */
const DEFAULT_EVERY_S = 30;
const DEFAULT_TIMEOUT_S = 5;
const DEFAULT_FAILURES = 3;

export function failoverPolicy(plan: Plan, datasetId: string): FailoverPolicy {
  const probes = datasetProbes(plan, datasetId);
  const covering = Object.entries(plan.scenarios ?? {}).filter(
    ([, scenario]) =>
      (scenario.detect ?? []).some((id) => probes.some(([probeId]) => probeId === id)) &&
      (scenario.runbooks ?? []).some((id) => runbookFailsOver(plan, plan.runbooks?.[id], datasetId)),
  );
  // Several scenarios may cover the same loss; the most cautious decision wins.
  const ranked = covering
    .map(([id, scenario]) => ({ id, decision: firstRung(scenario.decision) }))
    .sort((a, b) => caution(b.decision) - caution(a.decision));
  const chosen = ranked[0];
  const timers = detectorTimers(probes.map(([, probe]) => probe));
  const probeIds = probes.map(([id]) => id);
  let reason: string;
  if (probeIds.length === 0)
    reason = `no postgres probe names dataset '${datasetId}' (add one with \`dataset: ${datasetId}\`)`;
  else if (!chosen)
    reason = `no scenario detected by ${probeIds.join(', ')} has a runbook that fails '${datasetId}' over`;
  else reason = `scenario '${chosen.id}' decides: ${chosen.decision}`;
  return {
    dataset: datasetId,
    scenario: chosen?.id,
    decision: chosen?.decision ?? 'approval',
    probes: probeIds,
    ...timers,
    detectAfterMs: timers.intervalMs * timers.failures,
    reason,
  };
}

function datasetProbes(plan: Plan, datasetId: string): [string, Probe][] {
  const source = plan.datasets?.[datasetId]?.source;
  const url = source?.type === 'postgres' ? source.url : undefined;
  return Object.entries(plan.probes ?? {}).filter(
    ([, probe]) =>
      probe.type === 'postgres' && (probe.dataset === datasetId || (url !== undefined && probe.url === url)),
  );
}

/** Does the runbook (or one it calls) fail the dataset over? */
function runbookFailsOver(
  plan: Plan,
  runbook: Runbook | undefined,
  datasetId: string,
  seen = new Set<Runbook>(),
): boolean {
  if (!runbook || seen.has(runbook)) return false;
  seen.add(runbook);
  const steps = [...(runbook.steps ?? []), ...(runbook.phases ?? []).flatMap((phase) => phase.steps)];
  return steps.some(
    (step) =>
      step.failover?.dataset === datasetId ||
      (step.runbook !== undefined && runbookFailsOver(plan, plan.runbooks?.[step.runbook], datasetId, seen)),
  );
}

function firstRung(decision: Decision | Decision[] | undefined): Decision {
  if (decision === undefined) return 'approval';
  return (Array.isArray(decision) ? decision[0] : decision) ?? 'approval';
}

function caution(decision: Decision): number {
  return decision === 'automatic' ? 0 : decision === 'approval' ? 1 : 2;
}

function detectorTimers(probes: Probe[]): { intervalMs: number; timeoutMs: number; failures: number } {
  const each = probes.map((probe) => {
    const intervalMs = seconds(probe.every, DEFAULT_EVERY_S) * 1000;
    const failures = probe.failures ?? DEFAULT_FAILURES;
    return { intervalMs, timeoutMs: seconds(probe.timeout, DEFAULT_TIMEOUT_S) * 1000, failures };
  });
  const fastest = each.sort((a, b) => a.intervalMs * a.failures - b.intervalMs * b.failures)[0];
  return (
    fastest ?? {
      intervalMs: DEFAULT_EVERY_S * 1000,
      timeoutMs: DEFAULT_TIMEOUT_S * 1000,
      failures: DEFAULT_FAILURES,
    }
  );
}

function seconds(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : (parseDuration(text) ?? fallback);
}
