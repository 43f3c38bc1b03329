/**
 * What the plan says to do when a dataset's primary is lost, read from the plan alone (no
 * I/O). The link is explicit in the plan: a scenario whose `detect` names a probe of the
 * dataset's source, and whose runbook fails the dataset over. That scenario's decision
 * (the first rung of its ladder) says whether Lifeboat acts alone. A dataset no scenario
 * covers this way is watched and reported, never failed over automatically: acting without
 * the plan's say-so is the worse mistake. How fast the loss is declared is the dataset's
 * own `replication.detect_after`, not the probes' timers, which pace status pages.
 */
import type { Plan, Probe, Runbook } from '../../plan/schema.js';
import type { Decision } from './auto-failover.js';
import { postgresProbe } from '../../plan/probes.js';
import { asPostgres } from '../../stores/index.js';

export interface FailoverPolicy {
  dataset: string;
  /** The scenario that decides, when one covers the dataset. */
  scenario: string | undefined;
  decision: Decision;
  /** The probes that detect the loss (postgres probes of the dataset). */
  probes: string[];
  /** Why the decision is what it is, for the operator. */
  reason: string;
}

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
    reason,
  };
}

function datasetProbes(plan: Plan, datasetId: string): [string, Probe][] {
  const source = plan.datasets?.[datasetId]?.source;
  const url = asPostgres(source)?.url;
  return Object.entries(plan.probes ?? {}).filter(([, probe]) => {
    const checked = postgresProbe(probe);
    return (
      checked !== undefined && (checked.dataset === datasetId || (url !== undefined && checked.url === url))
    );
  });
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
