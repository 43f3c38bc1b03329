/**
 * lifeboat plan graph: the recovery order in waves, the services a cycle blocks, and for each
 * service the dependency chain that bounds its recovery (the sum of the RTOs along it), marked
 * when that sum exceeds the service's own RTO. Informational: exit 0 for any valid plan
 * (`plan check` is the gate that fails on cycles and RTO inversions).
 */
import { formatDuration } from '../../plan/duration.js';
import { dependencyEdges, findCycles, formatChain, recoveryChains, recoveryWaves } from '../../plan/graph.js';
import { planPath } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { ExitCode } from '../../errors.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { displayPath } from '../findings-output.js';
import { loadValidPlan } from './plan-render.js';

export interface PlanGraph {
  waves: string[][];
  blocked: string[];
  chains: {
    service: string;
    chain: string[];
    /** Services left out of a long chain, between its last two entries. */
    omitted?: number;
    totalRtoSeconds: number;
    rtoSeconds: number | null;
    exceedsRto: boolean;
    unknownRto: string[];
    unknownRtoOmitted?: number;
  }[];
  cycles: string[][];
  edges: { from: string; to: string; soft: boolean }[];
}

export function planGraph(plan: Plan): PlanGraph {
  const { waves, blocked } = recoveryWaves(plan);
  return {
    waves,
    blocked,
    chains: recoveryChains(plan).map((c) => ({
      service: c.service,
      chain: c.chain,
      ...(c.omitted === undefined ? {} : { omitted: c.omitted }),
      totalRtoSeconds: c.totalRtoSeconds,
      rtoSeconds: c.rtoSeconds ?? null,
      exceedsRto: c.rtoSeconds !== undefined && c.totalRtoSeconds > c.rtoSeconds,
      unknownRto: c.unknownRto,
      ...(c.unknownRtoOmitted === undefined ? {} : { unknownRtoOmitted: c.unknownRtoOmitted }),
    })),
    cycles: findCycles(plan),
    edges: dependencyEdges(plan),
  };
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('plan graph', args, {}, '[--plan FILE] [--json]', { positionals: 1 });
  const loaded = loadValidPlan(planPath(parsed.string('plan') ?? parsed.positionals[0]));
  const graph = planGraph(loaded.plan);
  if (parsed.flag('json')) {
    process.stdout.write(JSON.stringify(graph, null, 2) + '\n');
    return ExitCode.ok;
  }
  process.stdout.write(formatGraph(graph, displayPath(loaded.file)));
  return ExitCode.ok;
}

export function formatGraph(graph: PlanGraph, file: string): string {
  const lines: string[] = [];
  if (graph.waves.length === 0 && graph.blocked.length === 0) return `${file}: the plan has no services\n`;
  lines.push(`Recovery order (${file}):`);
  graph.waves.forEach((wave, i) => lines.push(`  wave ${i + 1}: ${wave.join(', ')}`));
  if (graph.blocked.length > 0) {
    lines.push('', `Blocked by a dependency cycle (no recovery order): ${graph.blocked.join(', ')}`);
    for (const cycle of graph.cycles) lines.push(`  cycle: ${cycle.join(' → ')}`);
  }

  const rto = (seconds: number | null) => (seconds === null ? 'none' : formatDuration(seconds));
  lines.push(
    '',
    'Recovery chains (the hard dependencies that bound each service, with the sum of their RTOs):',
  );
  const width = graph.chains.reduce((max, c) => Math.max(max, c.service.length), 0);
  const blocked = new Set(graph.blocked);
  let exceeding = 0;
  for (const c of graph.chains) {
    const chain = formatChain(c);
    const verdict = blocked.has(c.service)
      ? 'on a cycle'
      : c.rtoSeconds === null
        ? 'no RTO'
        : c.exceedsRto
          ? `EXCEEDS its RTO ${rto(c.rtoSeconds)} by ${formatDuration(c.totalRtoSeconds - c.rtoSeconds)}`
          : `within its RTO ${rto(c.rtoSeconds)}`;
    if (c.exceedsRto) exceeding++;
    const more = c.unknownRtoOmitted === undefined ? '' : ` and ${c.unknownRtoOmitted} more`;
    const unknown = c.unknownRto.length > 0 ? ` (no RTO: ${c.unknownRto.join(', ')}${more})` : '';
    lines.push(
      `  ${c.service.padEnd(width)}  ${chain} = ${formatDuration(c.totalRtoSeconds)}${unknown}  ${verdict}`,
    );
  }
  if (exceeding > 0) {
    lines.push(
      '',
      `${exceeding} service${exceeding === 1 ? '' : 's'} cannot be back within ${exceeding === 1 ? 'its' : 'their'} RTO if ${exceeding === 1 ? 'its' : 'their'} dependencies take theirs: shorten a dependency's RTO, lengthen the service's, or mark a dependency soft.`,
    );
  }
  return lines.join('\n') + '\n';
}
