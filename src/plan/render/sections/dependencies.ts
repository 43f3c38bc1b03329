/** The dependency graph (Mermaid), the recovery order in waves, the chains that bound each RTO; feature flags. */
import { formatDuration } from '../../duration.js';
import { dependencyEdges, findCycles, formatChain, recoveryChains, recoveryWaves } from '../../graph.js';
import type { Plan } from '../../schema.js';
import { humanSeconds, serviceName } from '../format.js';
import {
  cell,
  code,
  heading,
  note,
  numbered,
  paragraph,
  strong,
  table,
  text,
  type Block,
  type Inline,
  type RenderInput,
} from '../model.js';

export function dependenciesSection({ plan }: RenderInput): Block[] {
  if (Object.keys(plan.services ?? {}).length === 0) return [];
  return [
    heading(2, 'Service Dependencies and Recovery Order'),
    heading(3, 'Dependency Graph'),
    paragraph(
      text(
        'An arrow points from a service to what it needs. Solid arrows are hard dependencies; dotted arrows are soft ones (the service degrades but keeps running without it).',
      ),
    ),
    { kind: 'mermaid', text: mermaidGraph(plan) },
    ...recoveryOrderBlocks(plan),
    ...chainBlocks(plan),
  ];
}

/** `graph TB` with one node per service (and the datasets they own), `-->` hard, `-.->` soft. */
export function mermaidGraph(plan: Plan): string {
  const services = plan.services ?? {};
  const ids = new Map<string, string>();
  const used = new Set<string>();
  // Mermaid node ids are restricted (and `end` is a keyword): prefix and sanitize, keep them unique.
  const nodeId = (kind: 'svc' | 'ds', id: string) => {
    const key = `${kind}:${id}`;
    let out = ids.get(key);
    if (out === undefined) {
      const base = `${kind}_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
      out = base;
      for (let n = 2; used.has(out); n++) out = `${base}_${n}`;
      used.add(out);
      ids.set(key, out);
    }
    return out;
  };
  // Mermaid entity codes: a quote would end the label, and `<` `>` would reach Mermaid's HTML labels.
  const label = (value: string) =>
    `"${value.replace(/"/g, '#quot;').replace(/</g, '#60;').replace(/>/g, '#62;').replace(/\r?\n/g, ' ')}"`;
  const lines = ['graph TB'];
  for (const [id, service] of Object.entries(services)) {
    const name = label(serviceName(plan, id));
    lines.push(`    ${nodeId('svc', id)}${service.external ? `([${name}])` : `[${name}]`}`);
  }
  const missing = new Set<string>();
  for (const edge of dependencyEdges(plan)) {
    if (!(edge.to in services) && !missing.has(edge.to) && missing.add(edge.to))
      lines.push(`    ${nodeId('svc', edge.to)}[${label(`${edge.to} (not in plan)`)}]`);
    lines.push(`    ${nodeId('svc', edge.from)} ${edge.soft ? '-.->' : '-->'} ${nodeId('svc', edge.to)}`);
  }
  const declared = new Set<string>();
  for (const [id, service] of Object.entries(services)) {
    for (const dataset of service.datasets ?? []) {
      const node = nodeId('ds', dataset);
      const shape = declared.has(node) ? '' : `[(${label(plan.datasets?.[dataset]?.name ?? dataset)})]`;
      declared.add(node);
      lines.push(`    ${nodeId('svc', id)} --> ${node}${shape}`);
    }
  }
  return lines.join('\n');
}

function recoveryOrderBlocks(plan: Plan): Block[] {
  const { waves, blocked } = recoveryWaves(plan);
  const blocks: Block[] = [
    heading(3, 'Recovery Order'),
    paragraph(
      text('Services are recovered in waves: each wave needs only the services of the waves before it.'),
    ),
  ];
  if (waves.length > 0) {
    blocks.push(
      numbered(
        waves.map((wave, i) => [
          strong(`Wave ${i + 1}`),
          text(`: ${wave.map((id) => serviceName(plan, id)).join(', ')}`),
        ]),
      ),
    );
  }
  if (blocked.length > 0) {
    const cycles = findCycles(plan).map((cycle) => cycle.join(' → '));
    blocks.push(
      note(
        strong('Cannot be ordered'),
        text(
          `: ${blocked.map((id) => serviceName(plan, id)).join(', ')} depend on each other in a cycle (${cycles.join('; ')}). Break the cycle, or mark a dependency soft.`,
        ),
      ),
    );
  }
  return blocks;
}

function chainBlocks(plan: Plan): Block[] {
  const chains = recoveryChains(plan).filter((c) => c.chain.length > 1 || c.rtoSeconds !== undefined);
  if (chains.length === 0) return [];
  const blocked = new Set(recoveryWaves(plan).blocked);
  const rows = chains.map((c): Inline[][] => {
    const exceeds = c.rtoSeconds !== undefined && c.totalRtoSeconds > c.rtoSeconds;
    const verdict: Inline[] = blocked.has(c.service)
      ? [strong('on a dependency cycle')]
      : c.rtoSeconds === undefined
        ? [text('no RTO')]
        : exceeds
          ? [strong('EXCEEDS'), text(` by ${humanSeconds(c.totalRtoSeconds - c.rtoSeconds)}`)]
          : [text('within')];
    const chainText = formatChain(c, (id) => serviceName(plan, id));
    return [
      cell(serviceName(plan, c.service)),
      [
        text(chainText),
        ...(c.unknownRto.length > 0
          ? [
              text(
                ` (no RTO: ${c.unknownRto.map((id) => serviceName(plan, id)).join(', ')}${c.unknownRtoOmitted === undefined ? '' : ` and ${c.unknownRtoOmitted} more`})`,
              ),
            ]
          : []),
      ],
      [code(formatDuration(c.totalRtoSeconds))],
      c.rtoSeconds === undefined ? [] : [code(formatDuration(c.rtoSeconds))],
      verdict,
    ];
  });
  return [
    heading(3, 'Recovery Chains'),
    paragraph(
      text(
        "For each service, the chain of hard dependencies with the largest sum of RTOs. Dependencies come back before their dependants, so that sum is the longest the service can take to be fully back; it should fit in the service's own RTO.",
      ),
    ),
    table(['Service', 'Bounding chain', 'Sum of RTOs', 'Service RTO', 'Verdict'], rows),
  ];
}

export function flagsSection({ plan }: RenderInput): Block[] {
  const flags = Object.entries(plan.flags ?? {});
  if (flags.length === 0) return [];
  const rows = flags.map(([name, flag]): Inline[][] => {
    const value = typeof flag === 'object' ? flag.default : flag;
    return [
      [code(name)],
      [code(value === '' ? '""' : String(value))],
      cell(typeof flag === 'object' ? flag.description : undefined),
    ];
  });
  return [
    heading(2, 'Feature Flags'),
    paragraph(
      text(
        'Flags served to applications; recovery steps switch them to degrade features or fall back to another provider.',
      ),
    ),
    table(['Flag', 'Default', 'Description'], rows),
  ];
}
