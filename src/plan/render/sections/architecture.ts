/** Recovery architecture: sites, data replication, backup repositories, traffic switches, health checks. */
import type { Plan, Probe } from '../../schema.js';
import { datasetName, humanDuration, serviceName } from '../format.js';
import {
  bullets,
  cell,
  code,
  codeBlock,
  compactTable,
  heading,
  strong,
  text,
  type Block,
  type Inline,
  type RenderInput,
} from '../model.js';
import { replicationText } from './overview.js';

export function architectureSection({ plan }: RenderInput): Block[] {
  const body = [
    ...siteBlocks(plan),
    ...replicationBlocks(plan),
    ...repositoryBlocks(plan),
    ...trafficBlocks(plan),
    ...probeBlocks(plan),
  ];
  return body.length === 0 ? [] : [heading(2, 'Recovery Architecture'), ...body];
}

/** Each site as a tree, the way DR documents draw regions. */
function siteBlocks(plan: Plan): Block[] {
  const sites = Object.entries(plan.sites ?? {});
  if (sites.length === 0) return [];
  const trees = sites.map(([id, site]) => {
    const qualities = [site.role, site.readiness].filter(Boolean).join(', ');
    const title = (site.name ?? id) + (qualities === '' ? '' : ` — ${qualities}`);
    const items = [...(site.contains ?? [])];
    // What the plan places on the site is added unless the site's own description already names it
    // ("PostgreSQL Master + Read Replica" covers the service "PostgreSQL").
    const add = (line: string) => {
      if (!items.some((item) => item.toLowerCase().includes(line.toLowerCase()))) items.push(line);
    };
    for (const [sid, service] of Object.entries(plan.services ?? {}))
      if (service.site === id) add(serviceName(plan, sid));
    for (const [did, dataset] of Object.entries(plan.datasets ?? {})) {
      if (dataset.replication?.site === id) add(`Standby of ${datasetName(plan, did)}`);
    }
    for (const [rid, repository] of Object.entries(plan.repositories ?? {})) {
      if (repository.site === id) add(`Backup repository ${rid}`);
    }
    return [
      title,
      ...items.map((line, i) => `${i === items.length - 1 ? '└──' : '├──'} ${line.replace(/\n/g, ' ')}`),
    ].join('\n');
  });
  return [heading(3, 'Sites'), codeBlock('text', trees.join('\n\n'))];
}

function replicationBlocks(plan: Plan): Block[] {
  const lines: Inline[][] = [];
  for (const [id, dataset] of Object.entries(plan.datasets ?? {})) {
    const replication = replicationText(plan, dataset);
    if (replication !== undefined) lines.push([strong(datasetName(plan, id)), text(`: ${replication}`)]);
  }
  return lines.length === 0 ? [] : [heading(3, 'Data Replication Strategy'), bullets(lines)];
}

function repositoryBlocks(plan: Plan): Block[] {
  const repositories = Object.entries(plan.repositories ?? {});
  if (repositories.length === 0) return [];
  const rows = repositories.map(([id, repository]): Inline[][] => [
    cell(id),
    cell(repository.type ?? 'restic'),
    [code(repository.url)],
    cell(
      repository.site === undefined ? undefined : (plan.sites?.[repository.site]?.name ?? repository.site),
    ),
  ]);
  return [
    heading(3, 'Backup Repositories'),
    compactTable(['Repository', 'Engine', 'Location', 'Site'], rows),
  ];
}

function trafficBlocks(plan: Plan): Block[] {
  const switches = Object.entries(plan.traffic ?? {});
  if (switches.length === 0) return [];
  return [
    heading(3, 'Traffic Switching'),
    bullets(
      switches.map(([id, sw]) => {
        const targets = Object.entries(sw.targets ?? {}).map(([name, target]) => `${name} → ${target}`);
        return [
          strong(id),
          text(` (${sw.type})`),
          ...(sw.description === undefined ? [] : [text(`: ${sw.description}`)]),
          ...(targets.length === 0 ? [] : [text(`. Targets: ${targets.join(', ')}`)]),
        ];
      }),
    ),
  ];
}

const PROBE_LABELS: Record<Probe['type'], string> = {
  http: 'HTTP',
  tcp: 'TCP',
  dns: 'DNS',
  postgres: 'PostgreSQL',
  mysql: 'MySQL/MariaDB',
  redis: 'Redis',
  command: 'Command',
  manual: 'People',
};

function probeBlocks(plan: Plan): Block[] {
  const probes = Object.entries(plan.probes ?? {});
  if (probes.length === 0) return [];
  const rows = probes.map(([id, probe]): Inline[][] => [
    cell(probe.name ?? id),
    cell(PROBE_LABELS[probe.type]),
    probeTarget(plan, probe),
    // Only what the plan states: the defaults are documented in docs/plan.md, not repeated here.
    cell(humanDuration(probe.every)),
    cell(probe.failures === undefined ? undefined : String(probe.failures)),
  ]);
  return [
    heading(3, 'Health Checks'),
    compactTable(['Check', 'Type', 'Target', 'Every', 'Failures before down'], rows),
  ];
}

function probeTarget(plan: Plan, probe: Probe): Inline[] {
  switch (probe.type) {
    case 'http':
      return [code(`${probe.method ?? 'GET'} ${probe.url}`)];
    case 'tcp':
      return [code(`${probe.host}:${probe.port}`)];
    case 'dns':
      return [code(probe.address ? `${probe.host} → ${probe.address}` : probe.host)];
    case 'command':
      return [code(probe.command)];
    case 'manual':
      return cell(probe.description);
    case 'postgres':
    case 'mysql':
    case 'redis':
      return probe.dataset !== undefined
        ? cell(datasetName(plan, probe.dataset))
        : probe.url !== undefined
          ? [code(probe.url)]
          : [];
  }
}
