/**
 * `lifeboat doctor`: is this machine ready to run the plan? One small function per concern
 * (a tool, a repository's key, a repository, a dataset's source, the state store), each
 * returning `{ name, ok, detail, fix? }`. Doctor only looks: it never creates a key file,
 * initializes a repository or waits for a lock, so that it is safe to run at any time,
 * including in the middle of a backup.
 */
import { join } from 'node:path';
import type { LoadedPlan } from '../plan/load.js';
import { createProtectContext, type ProtectContext } from '../protect/context.js';
import { failed, type DoctorCheck } from './check.js';
import { checkRepositories } from './repositories.js';
import { checkSandboxes } from './sandboxes.js';
import { checkSources } from './sources.js';
import { checkStateIntegrity } from './state-integrity.js';
import { checkTraffic } from './traffic.js';
import {
  TOOLS,
  checkPostgresClients,
  checkPostgresServer,
  checkRestic,
  checkTool,
  planUses,
} from './tools.js';

export type { DoctorCheck } from './check.js';
export { checkKeyFile, checkRepository } from './repositories.js';
export { checkPostgresClients, planUses, postgresMajor } from './tools.js';
export { repositoryAccess } from '../protect/repository-access.js';

/** The state store opens and its schema is current. */
export async function checkState(context: ProtectContext): Promise<DoctorCheck> {
  const where = context.env.LIFEBOAT_DATABASE_URL
    ? 'PostgreSQL ($LIFEBOAT_DATABASE_URL)'
    : join(context.homeDir, 'state.db');
  try {
    await context.state();
    return { name: 'state store', ok: true, detail: `${where} opens` };
  } catch (error) {
    return failed('state store', error, `check ${where}`);
  }
}

export function checkPlan(file: string, loaded: LoadedPlan | undefined): DoctorCheck {
  if (!loaded) {
    return {
      name: 'plan',
      ok: false,
      detail: `no plan at ${file}; only the tools were checked`,
      fix: 'pass --plan FILE, set LIFEBOAT_PLAN, or run in the directory holding lifeboat.yaml (start from examples/local/lifeboat.yaml)',
    };
  }
  const errors = loaded.findings.filter((f) => f.severity === 'error');
  if (!loaded.plan || errors.length > 0) {
    return {
      name: 'plan',
      ok: false,
      detail: `${file} has ${errors.length} error(s)`,
      fix: `run: lifeboat plan check --plan ${file}`,
    };
  }
  const datasets = Object.keys(loaded.plan.datasets ?? {}).length;
  return { name: 'plan', ok: true, detail: `${file}: ${datasets} dataset(s)` };
}

// ---------------------------------------------------------------------------------------------
// All of them.

export interface DoctorOptions {
  /** The plan file doctor was pointed at (shown when it is missing). */
  file: string;
  /** The loaded plan, or undefined when there is no file. */
  loaded: LoadedPlan | undefined;
  env?: NodeJS.ProcessEnv;
  /** Default: 15 s. */
  repositoryTimeoutMs?: number;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const env = options.env ?? process.env;
  const valid = options.loaded?.plan && !options.loaded.findings.some((f) => f.severity === 'error');
  const plan = valid ? options.loaded?.plan : undefined;
  const uses = planUses(plan);

  const [restic, tools] = await Promise.all([
    checkRestic(env),
    Promise.all(TOOLS.map((spec) => checkTool(spec, uses))),
  ]);
  const byTool = (tool: string) => tools.find((c) => c.name === `tool ${tool}`);
  const checks = [
    checkPlan(options.file, options.loaded),
    ...restic,
    ...tools,
    checkPostgresServer(uses),
    ...checkPostgresClients(byTool('pg_dump'), byTool('pg_restore')),
    ...(await checkSandboxes()),
  ];
  if (!plan || !options.loaded) return checks;

  const context = createProtectContext(options.loaded, env);
  try {
    checks.push(await checkState(context));
    checks.push(await checkStateIntegrity(context));
    checks.push(...(await checkRepositories(context, env, options.repositoryTimeoutMs)));
    const clientMajor = (client: { tool: string; major(line: string): number | undefined }) => {
      const found = byTool(client.tool);
      return found?.ok ? client.major(found.detail) : undefined;
    };
    checks.push(...(await checkSources(context, clientMajor)));
    checks.push(...checkTraffic(plan, context.planDir));
  } finally {
    await context.close().catch(() => undefined);
  }
  return checks;
}
