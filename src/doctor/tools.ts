/** Doctor: the tools the plan's engines need, and their versions. */
import { findRestic } from '../engines/restic/binary.js';
import { findPostgresBinDir, protectableKinds, storeFor, type StoreKind } from '../stores/index.js';
import { postgresMajor } from '../stores/postgres/driver.js';
import { firstLines, packageFor, runTool } from '../system/tool.js';
import type { Plan } from '../plan/schema.js';
import { failed, type DoctorCheck } from './check.js';

export { postgresMajor } from '../stores/postgres/driver.js';

/**
 * Which engines the plan uses, so a missing tool fails only when something needs it: each
 * kind of data store that needs tools, and pgBackRest.
 */
export type PlanUses = { [K in StoreKind]?: boolean } & { pgbackrest: boolean };

/** The kinds whose drivers need tools of their own. */
const toolKinds = protectableKinds.filter((kind) => storeFor(kind).tools.length > 0);

export function planUses(plan: Plan | undefined): PlanUses {
  const datasets = Object.values(plan?.datasets ?? {});
  return {
    ...Object.fromEntries(
      toolKinds.map((kind) => [kind, datasets.some((d) => d.source?.type === kind)] as const),
    ),
    pgbackrest:
      datasets.some((d) => d.backup?.method === 'physical') ||
      Object.values(plan?.repositories ?? {}).some((r) => r.type === 'pgbackrest'),
  };
}

export interface ToolSpec {
  tool: string;
  args: string[];
  /** What Lifeboat uses it for, shown when it is missing. */
  purpose: string;
  /** When the plan needs it. Without a plan nothing but restic is required. */
  needed: (uses: PlanUses) => boolean;
}

export const TOOLS: ToolSpec[] = [
  ...toolKinds.flatMap((kind) =>
    storeFor(kind).tools.map((tool) => ({ ...tool, needed: (uses: PlanUses) => uses[kind] === true })),
  ),
  {
    tool: 'pgbackrest',
    args: ['version'],
    purpose: 'physical PostgreSQL backups and WAL archiving',
    needed: (u) => u.pgbackrest,
  },
  {
    tool: 'pgbouncer',
    args: ['--version'],
    purpose: 'switching PostgreSQL traffic on failover',
    needed: () => false,
  },
];

// ---------------------------------------------------------------------------------------------
// The checks.

/** restic: present, its version, and what an old one lacks. */
export async function checkRestic(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  try {
    const restic = await findRestic(env);
    const checks: DoctorCheck[] = [
      { name: 'tool restic', ok: true, detail: `${restic.version.text} (${restic.path})` },
    ];
    const lacks = [
      ...(restic.features.stdinFromCommand
        ? []
        : ["--stdin-from-command (a failed dump is caught by Lifeboat's pending/complete tags instead)"]),
      ...(restic.features.distinctExitCodes
        ? []
        : ['distinct exit codes (errors are told apart by their messages instead)']),
    ];
    if (lacks.length > 0) {
      checks.push({
        name: 'restic features',
        ok: true,
        warning: true,
        detail: `restic ${restic.version.major}.${restic.version.minor} lacks ${lacks.join('; ')}`,
        fix: 'restic 0.17.1 or newer has both (https://github.com/restic/restic/releases); Lifeboat works with either',
      });
    }
    return checks;
  } catch (error) {
    return [failed('tool restic', error, 'install restic: apt-get install restic')];
  }
}

/** A client or server tool: present, and its version. Missing is a failure only when the plan needs it. */
export async function checkTool(spec: ToolSpec, uses: PlanUses): Promise<DoctorCheck> {
  const name = `tool ${spec.tool}`;
  const pkg = packageFor(spec.tool) ?? spec.tool;
  const needed = spec.needed(uses);
  // Not needed by this plan: a problem is worth a warning, not a failed doctor.
  const verdict = needed ? { ok: false } : { ok: true, warning: true };
  try {
    const result = await runTool(spec.tool, spec.args, { timeoutMs: 10_000 });
    const text = firstLines(result.stdout || result.stderr, 1);
    if (result.code !== 0) {
      return {
        name,
        ...verdict,
        detail: `${spec.tool} ${spec.args.join(' ')} failed: ${text}`,
        fix: `reinstall it: apt-get install --reinstall ${pkg}`,
      };
    }
    return { name, ok: true, detail: text };
  } catch {
    return {
      name,
      ...verdict,
      detail: `not installed; ${needed ? 'the plan needs it' : 'needed only'} for ${spec.purpose}`,
      fix: `apt-get install ${pkg}`,
    };
  }
}

/** initdb and pg_ctl: verification restores PostgreSQL backups into a throwaway server. */
export function checkPostgresServer(uses: PlanUses): DoctorCheck {
  try {
    return { name: 'tool initdb/pg_ctl', ok: true, detail: findPostgresBinDir() };
  } catch (error) {
    return {
      ...failed('tool initdb/pg_ctl', error, 'apt-get install postgresql'),
      ok: !uses.postgres,
      ...(uses.postgres ? {} : { warning: true }),
    };
  }
}

/** pg_restore reads what pg_dump writes only if it is at least as new. */
export function checkPostgresClients(
  pgDump: DoctorCheck | undefined,
  pgRestore: DoctorCheck | undefined,
): DoctorCheck[] {
  const dump = pgDump?.ok ? postgresMajor(pgDump.detail) : undefined;
  const restore = pgRestore?.ok ? postgresMajor(pgRestore.detail) : undefined;
  if (dump === undefined || restore === undefined || dump === restore) return [];
  return [
    {
      name: 'pg_dump/pg_restore versions',
      ok: restore >= dump,
      ...(restore >= dump ? { warning: true } : {}),
      detail: `pg_dump ${dump}, pg_restore ${restore}: PATH mixes two PostgreSQL client versions`,
      fix: `put one version first on PATH, e.g. /usr/lib/postgresql/${Math.max(dump, restore)}/bin`,
    },
  ];
}
