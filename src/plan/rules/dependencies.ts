/** Rules over the service dependency graph. */
import { formatDuration } from '../duration.js';
import { dependencyEdges, effectiveRto, findCycles } from '../graph.js';
import type { Rule, RuleHit } from './rule.js';

export const dependencyCycle: Rule = {
  id: 'dependency-cycle',
  severity: 'error',
  summary: 'Services that depend on each other in a circle have no recovery order.',
  check({ plan }) {
    return findCycles(plan).map((cycle) => {
      const from = cycle[0]!;
      const index = plan.services![from]!.depends_on!.findIndex(
        (d) => (typeof d === 'string' ? d : d.on) === cycle[1],
      );
      return {
        path: ['services', from, 'depends_on', index],
        message: `dependency cycle: ${cycleText(cycle)}`,
        hint: 'break the cycle: one of these must be able to start without the other (mark it `{ on: ..., soft: true }` if it only degrades)',
      };
    });
  },
};

/** A cycle as text; one that runs through thousands of services shows its ends. */
function cycleText(cycle: string[]): string {
  if (cycle.length <= 20) return cycle.join(' → ');
  return [...cycle.slice(0, 10), `… ${cycle.length - 20} more …`, ...cycle.slice(-10)].join(' → ');
}

export const rtoInversion: Rule = {
  id: 'rto-inversion',
  severity: 'error',
  summary: 'A service cannot be back sooner than a service it cannot work without.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    const services = plan.services ?? {};
    for (const edge of dependencyEdges(plan)) {
      if (edge.soft || !(edge.to in services)) continue;
      const own = effectiveRto(plan, edge.from);
      const dep = effectiveRto(plan, edge.to);
      if (own === undefined || dep === undefined || dep <= own) continue;
      const index = services[edge.from]!.depends_on!.findIndex(
        (d) => (typeof d === 'string' ? d : d.on) === edge.to,
      );
      hits.push({
        path: ['services', edge.from, 'depends_on', index],
        message: `${edge.from} has an RTO of ${formatDuration(own)} but depends on ${edge.to}, whose RTO is ${formatDuration(dep)}`,
        hint: `shorten ${edge.to}'s RTO to at most ${formatDuration(own)}, lengthen ${edge.from}'s, or mark the dependency soft if ${edge.from} degrades without it`,
      });
    }
    return hits;
  },
};

export const dependencyWithoutRto: Rule = {
  id: 'dependency-without-rto',
  severity: 'warning',
  summary: 'A service with an RTO depends on one whose recovery time nobody has stated.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    const services = plan.services ?? {};
    // Dependants with an RTO of each service without one, gathered in one pass over the edges.
    const dependants = new Map<string, string[]>();
    for (const edge of dependencyEdges(plan)) {
      const target = services[edge.to];
      if (edge.soft || !target || target.external || effectiveRto(plan, edge.to) !== undefined) continue;
      const own = effectiveRto(plan, edge.from);
      if (own === undefined) continue;
      const list = dependants.get(edge.to) ?? [];
      list.push(`${edge.from} (${formatDuration(own)})`);
      dependants.set(edge.to, list);
    }
    for (const [id, list] of dependants) {
      hits.push({
        path: ['services', id],
        atKey: true,
        message: `${id} has no RTO, yet ${listSome(list)} depend on it`,
        hint: `give ${id} an \`rto\` no longer than the shortest of its dependants'`,
      });
    }
    return hits;
  },
};

/** The first few of a list, and how many more: a message names what to look at, not thousands. */
export function listSome(items: readonly string[], shown = 10): string {
  if (items.length <= shown) return items.join(', ');
  return `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}
