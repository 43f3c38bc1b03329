/** Disaster scenarios and the decision matrix. */
import type { Plan, Scenario } from '../../schema.js';
import { capitalize, humanRange, list, runbookName, serviceName } from '../format.js';
import {
  cell,
  fields,
  heading,
  joined,
  paragraph,
  ref,
  table,
  text,
  type Block,
  type Inline,
  type RenderInput,
} from '../model.js';

const DECISIONS = [
  ['automatic', 'Automatic'],
  ['approval', 'Approval'],
  ['full-dr', 'Full DR'],
] as const;
const decisionLabel = (d: string) => DECISIONS.find(([id]) => id === d)?.[1] ?? d;

export function scenariosSection({ plan }: RenderInput): Block[] {
  const scenarios = Object.entries(plan.scenarios ?? {});
  if (scenarios.length === 0) return [];
  const blocks: Block[] = [heading(2, 'Disaster Scenarios')];
  scenarios.forEach(([id, scenario], i) => {
    const name = scenario.name ?? id;
    // Plans converted from a document often keep its numbering in the name ("Scenario 2: ...").
    const title = /^scenario\b/i.test(name) ? name : `Scenario ${i + 1}: ${name}`;
    blocks.push(heading(3, title, `scenario:${id}`));
    blocks.push(
      ...fields([
        ['Description', scenario.description],
        ['Impact', scenario.impact],
        ['Probability', scenario.probability === undefined ? undefined : capitalize(scenario.probability)],
        ['Detection', detection(plan, scenario)],
        ['Affects', affects(plan, scenario)],
        ['Decision', decision(scenario)],
        ['Estimated recovery', humanRange(scenario.estimated_recovery)],
        ['Recovery method', scenario.recovery_method],
        ['Runbooks', runbookLinks(plan, scenario.runbooks ?? [])],
      ]),
    );
  });
  blocks.push(...decisionMatrix(plan));
  return blocks;
}

function detection(plan: Plan, scenario: Scenario): string | undefined {
  const probes = (scenario.detect ?? []).map((id) => plan.probes?.[id]?.name ?? id);
  const parts = [
    scenario.detection,
    probes.length === 0 ? undefined : `health checks: ${probes.join(', ')}`,
  ].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? undefined : parts.join('; ');
}

function affects(plan: Plan, scenario: Scenario): string | undefined {
  if (scenario.affects === undefined) return undefined;
  if (scenario.affects === 'all') return 'all services';
  return scenario.affects.map((id) => serviceName(plan, id)).join(', ');
}

function decision(scenario: Scenario): string | undefined {
  const ladder = list(scenario.decision);
  if (ladder.length === 0) return undefined;
  return ladder.length === 1
    ? decisionLabel(ladder[0]!)
    : `${ladder.map(decisionLabel).join(' → ')} (escalation)`;
}

export function runbookLinks(plan: Plan, ids: string[]): Inline[] {
  return joined(
    ids.map((id) => (plan.runbooks?.[id] ? [ref(`runbook:${id}`, runbookName(plan, id))] : [text(id)])),
  );
}

/** Scenario × decision, ✓ where the plan allows that response. */
function decisionMatrix(plan: Plan): Block[] {
  const scenarios = Object.entries(plan.scenarios ?? {}).filter(([, s]) => s.decision !== undefined);
  if (scenarios.length === 0) return [];
  const rows = scenarios.map(([id, scenario]): Inline[][] => {
    const allowed = list(scenario.decision);
    return [
      [ref(`scenario:${id}`, scenario.name ?? id)],
      ...DECISIONS.map(([d]) => cell(allowed.includes(d) ? '✓' : '-')),
    ];
  });
  return [
    heading(3, 'Decision Matrix'),
    paragraph(
      text(
        'Automatic: Lifeboat responds on its own. Approval: a person decides before recovery proceeds. Full DR: the whole disaster recovery plan is activated.',
      ),
    ),
    table(['Scenario', ...DECISIONS.map(([, label]) => label)], rows),
  ];
}
