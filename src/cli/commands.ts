/** The command table. Each entry loads its module only when that command runs. */
import { closest } from '../plan/schema-walk.js';

export interface CommandEntry {
  /** Words that name the command, e.g. `plan check`. */
  name: string;
  summary: string;
  load: () => Promise<unknown>;
}

export const commands: CommandEntry[] = [
  {
    name: 'plan check',
    summary: 'validate a plan: schema, references and the rules that keep it honest',
    load: () => import('./commands/plan-check.js'),
  },
  {
    name: 'plan render',
    summary: 'render the human-readable DR document (Markdown or HTML)',
    load: () => import('./commands/plan-render.js'),
  },
  {
    name: 'plan graph',
    summary: 'recovery order in waves and the dependency chain bounding each service',
    load: () => import('./commands/plan-graph.js'),
  },
  {
    name: 'plan schema',
    summary: 'print the JSON Schema of lifeboat.yaml',
    load: () => import('./commands/plan-schema.js'),
  },
  {
    name: 'backup',
    summary: 'back up datasets now (all, or those named) into their restic repositories',
    load: () => import('./commands/backup.js'),
  },
  {
    name: 'snapshots',
    summary: 'list recovery points, newest first',
    load: () => import('./commands/snapshots.js'),
  },
  {
    name: 'restore',
    summary: 'restore a dataset (latest, a snapshot, or a point in time) into a target, then check it',
    load: () => import('./commands/restore.js'),
  },
  {
    name: 'verify',
    summary: 'prove backups: restore the newest into a throwaway instance, compare and check',
    load: () => import('./commands/verify.js'),
  },
  {
    name: 'status',
    summary: 'per dataset: RPO target, newest and newest verified recovery point, compliant or not',
    load: () => import('./commands/status.js'),
  },
  {
    name: 'prune',
    summary: "apply each dataset's retention to its repository",
    load: () => import('./commands/prune.js'),
  },
  {
    name: 'run',
    summary: "foreground scheduler: back up, verify and prune at the plan's cadence",
    load: () => import('./commands/run.js'),
  },
  {
    name: 'catalog rebuild',
    summary: "rebuild the state store's view of recovery points from the repositories",
    load: () => import('./commands/catalog-rebuild.js'),
  },
  {
    name: 'audit',
    summary: 'read the audit log back: who did what to which dataset, and how it ended',
    load: () => import('./commands/audit.js'),
  },
  {
    name: 'up',
    summary: 'serve the status page, the incidents API (OpenAPI) and /metrics until stopped',
    load: () => import('./commands/up.js'),
  },
  {
    name: 'token create',
    summary: "create a bearer token for the server's API (viewer, responder or admin); printed once",
    load: async () => (await import('./commands/token.js')).create,
  },
  {
    name: 'token list',
    summary: 'list the API tokens: name, role, created, expiry, last use',
    load: async () => (await import('./commands/token.js')).list,
  },
  {
    name: 'token revoke',
    summary: 'revoke an API token by its id',
    load: async () => (await import('./commands/token.js')).revoke,
  },
  {
    name: 'incident open',
    summary: 'open an incident: title, first message, affected services',
    load: async () => (await import('./commands/incident.js')).open,
  },
  {
    name: 'incident update',
    summary: 'add an update to an incident: investigating, identified, monitoring or resolved',
    load: async () => (await import('./commands/incident.js')).update,
  },
  {
    name: 'incident resolve',
    summary: 'resolve an incident with a closing message',
    load: async () => (await import('./commands/incident.js')).resolve,
  },
  {
    name: 'incident list',
    summary: 'list incidents, newest first (--open: only unresolved)',
    load: async () => (await import('./commands/incident.js')).list,
  },
  {
    name: 'completion',
    summary: 'print the completion script for bash, zsh or fish',
    load: () => import('./commands/completion.js'),
  },
  {
    name: 'doctor',
    summary: 'check tools, repositories and sources, each with the fix',
    load: () => import('./commands/doctor.js'),
  },
  {
    name: 'restore-point create',
    summary: 'mark a point to recover to (pgBackRest datasets) before a risky change',
    load: () => import('./commands/restore-point.js'),
  },
  {
    name: 'standby create',
    summary:
      "build a streaming standby of a dataset's PostgreSQL primary on this host (sync when the RPO is 0)",
    load: () => import('./commands/standby-create.js'),
  },
  {
    name: 'standby rejoin',
    summary: 'after a failover, bring the old primary back as a standby of the promoted one (pg_rewind)',
    load: () => import('./commands/standby-rejoin.js'),
  },
  {
    name: 'failover',
    summary: "promote a dataset's standby: fence the old primary, move clients; refuses beyond the RPO",
    load: () => import('./commands/failover.js'),
  },
  {
    name: 'switchover',
    summary: "planned handover to a dataset's standby with no loss: hold clients, catch up, promote, release",
    load: () => import('./commands/switchover.js'),
  },
  {
    name: 'watch',
    summary: "watch each dataset's primary; on a loss, fail over when the plan's scenario decides automatic",
    load: () => import('./commands/watch.js'),
  },
  {
    name: 'drill pitr',
    summary: 'measured point-in-time recovery drill on a throwaway cluster (--sandbox)',
    load: () => import('./commands/drill-pitr.js'),
  },
  {
    name: 'drill failover',
    summary:
      "measured failover drill: a fault, the failover, RTO and lost writes (--sandbox, or a plan's DATASET)",
    load: () => import('./commands/drill-failover.js'),
  },
  {
    name: 'demo',
    summary:
      'start throwaway PostgreSQL, MariaDB and Redis, back them up, prove every backup by a restore, print a scorecard',
    load: () => import('./commands/demo.js'),
  },
];

export function findCommand(argv: string[]): { command: CommandEntry; rest: string[] } | undefined {
  // Longest name first, so `plan check` wins over a future `plan`.
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((word, i) => argv[i] === word)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

/** The first words shared by several commands (`plan`, `drill`, `standby`...). */
export function commandGroups(): string[] {
  const groups = commands.flatMap((c) => (c.name.includes(' ') ? [c.name.split(' ')[0]!] : []));
  return [...new Set(groups)];
}

/** The commands of a group, for `lifeboat plan` and `lifeboat plan --help`. */
export function groupUsageText(group: string): string {
  const members = commands.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: lifeboat ${group} <${members.map((c) => c.name.slice(group.length + 1)).join('|')}> [options]`,
    '',
    'Commands:',
    ...commandLines(members),
    '',
    `Run 'lifeboat ${group} <command> --help' for the options of one.`,
    '',
  ].join('\n');
}

/**
 * The command closest to what was typed (`snapshot` → `snapshots`, `plan chek` → `plan
 * check`), tried on two words, then on one.
 */
export function suggestCommand(argv: string[]): string | undefined {
  const names = commands.map((c) => c.name);
  const [first = '', second] = argv;
  if (second !== undefined && !second.startsWith('-')) {
    const two = closest(`${first} ${second}`, names);
    if (two) return two;
  }
  return closest(first, [...names.filter((n) => !n.includes(' ')), ...commandGroups()]);
}

function commandLines(list: CommandEntry[]): string[] {
  const width = Math.max(...list.map((c) => c.name.length));
  return list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
}

export function usageText(): string {
  return [
    'Usage: lifeboat <command> [options]',
    '',
    'Commands:',
    ...commandLines(commands),
    '',
    'Common options: --plan FILE (default: ./lifeboat.yaml or $LIFEBOAT_PLAN), --json',
    "Run 'lifeboat <command> --help' for the options of a command.",
    'Exit codes: 0 ok, 1 check failed, 2 usage or unreadable input, 3 environment, 4 refused, 130 interrupted.',
    '',
  ].join('\n');
}
