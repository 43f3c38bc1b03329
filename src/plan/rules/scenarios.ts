/** Rules that hold each scenario to the plan's own objectives and testing. */
import { formatDuration, parseRange } from '../duration.js';
import { effectiveRto } from '../graph.js';
import { entries, type Rule, type RuleHit } from './rule.js';
import type { Plan } from '../schema.js';

export const scenarioWithoutRunbook: Rule = {
  id: 'scenario-no-runbook',
  severity: 'warning',
  summary: 'A scenario without a runbook leaves the 3 a.m. responder to improvise.',
  check({ plan }) {
    return entries(plan.scenarios)
      .filter(([, s]) => !s.runbooks || s.runbooks.length === 0)
      .map(([id]) => ({
        path: ['scenarios', id],
        atKey: true,
        message: `scenario ${id} has no runbook`,
        hint: 'write the recovery steps under `runbooks:` and list them in `runbooks: [...]`',
      }));
  },
};

export const scenarioNotDrilled: Rule = {
  id: 'scenario-not-drilled',
  severity: 'warning',
  summary: 'A scenario no drill exercises has an untested recovery time.',
  check({ plan }) {
    const drills = Object.values(plan.drills ?? {});
    const drilled = new Set(drills.flatMap((d) => d.scenarios ?? []));
    const drilledRunbooks = new Set(drills.flatMap((d) => (d.runbook ? [d.runbook] : [])));
    return entries(plan.scenarios)
      .filter(([id, s]) => !drilled.has(id) && !(s.runbooks ?? []).some((r) => drilledRunbooks.has(r)))
      .map(([id]) => ({
        path: ['scenarios', id],
        atKey: true,
        message: `scenario ${id} is never drilled`,
        hint: `add a drill with \`scenarios: [${id}]\` and a cadence (e.g. quarterly)`,
      }));
  },
};

function affectedServices(plan: Plan, affects: 'all' | string[] | undefined): string[] {
  const services = plan.services ?? {};
  if (affects === 'all') return Object.keys(services).filter((id) => !services[id]!.external);
  return (affects ?? []).filter((id) => id in services);
}

export const scenarioExceedsRto: Rule = {
  id: 'scenario-exceeds-rto',
  severity: 'warning',
  summary:
    "A scenario whose own recovery estimate is longer than an affected service's RTO admits the RTO will be missed.",
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, scenario] of entries(plan.scenarios)) {
      const range = scenario.estimated_recovery ? parseRange(scenario.estimated_recovery) : undefined;
      if (!range) continue;
      const breached = affectedServices(plan, scenario.affects)
        .map((service) => ({ service, rto: effectiveRto(plan, service) }))
        .filter((s): s is { service: string; rto: number } => s.rto !== undefined && range.max > s.rto)
        .sort((a, b) => a.rto - b.rto);
      if (breached.length === 0) continue;
      hits.push({
        path: ['scenarios', id, 'estimated_recovery'],
        message: `estimated recovery up to ${formatDuration(range.max)} exceeds the RTO of ${breached
          .map((b) => `${b.service} (${formatDuration(b.rto)})`)
          .join(', ')}`,
        hint: 'either the estimate or the RTO is wrong: a drill of this scenario measures which',
      });
    }
    return hits;
  },
};

export const availabilityBudget: Rule = {
  id: 'availability-budget',
  severity: 'warning',
  summary:
    'One occurrence of a scenario would spend more downtime than the availability target allows in a year.',
  check({ plan }) {
    const availability = plan.objectives?.availability;
    if (availability === undefined) return [];
    const percent = typeof availability === 'number' ? availability : Number(availability.replace('%', ''));
    const budget = (1 - percent / 100) * 365 * 86_400;
    const hits: RuleHit[] = [];
    for (const [id, scenario] of entries(plan.scenarios)) {
      const range = scenario.estimated_recovery ? parseRange(scenario.estimated_recovery) : undefined;
      if (!range || range.max <= budget) continue;
      if (scenario.affects !== undefined && affectedServices(plan, scenario.affects).length === 0) continue;
      hits.push({
        path: ['scenarios', id, 'estimated_recovery'],
        message: `one ${id} lasting up to ${formatDuration(range.max)} exceeds the yearly downtime budget of ${percent}% availability (${formatDuration(budget)})`,
        hint: 'shorten the recovery (standbys, automation) or state a lower availability target',
      });
    }
    return hits;
  },
};

export const durationRange: Rule = {
  id: 'duration-range',
  severity: 'error',
  summary: 'A range `MIN..MAX` whose maximum is below its minimum.',
  check({ plan }) {
    const ranges: { path: (string | number)[]; text: string | undefined }[] = [
      ...entries(plan.scenarios).map(([id, s]) => ({
        path: ['scenarios', id, 'estimated_recovery'],
        text: s.estimated_recovery,
      })),
      ...entries(plan.runbooks).flatMap(([id, r]) => [
        { path: ['runbooks', id, 'estimated_duration'], text: r.estimated_duration },
        ...(r.phases ?? []).map((p, i) => ({
          path: ['runbooks', id, 'phases', i, 'timebox'],
          text: p.timebox,
        })),
      ]),
    ];
    return ranges
      .filter((r) => r.text !== undefined && parseRange(r.text) === undefined)
      .map((r) => ({
        path: r.path,
        message: `${r.text} is not a range: the maximum is below the minimum`,
        hint: 'write MIN..MAX, e.g. 2h..4h',
      }));
  },
};
