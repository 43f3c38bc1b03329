/**
 * For the failover, switchover and standby tests: a lifeboat.yaml naming a throwaway
 * primary, its standby and pgbouncer, and the CLI run against it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openStateStore } from '../../state/store.js';
import { runCli, type CliRun } from './run-cli.js';

export interface TestPlanInput {
  primaryUrl: string;
  primaryDataDir?: string | undefined;
  standbyUrl?: string | undefined;
  standbyDataDir?: string | undefined;
  rpo?: string;
  /** A test pgbouncer asks the primary's password (testing/cluster.ts), unless `password` says otherwise. */
  bouncer?: { iniPath: string; adminPort: number; password?: string } | undefined;
  /** Extra YAML for the dataset's replication block, e.g. `mode: sync`. */
  replication?: string;
}

export interface TestPlan {
  file: string;
  run(args: string[], timeoutMs?: number): Promise<CliRun>;
  /** The parsed stdout of a --json run. */
  json(args: string[], timeoutMs?: number): Promise<{ run: CliRun; body: Record<string, unknown> }>;
  remove(): void;
}

export function writeTestPlan(input: TestPlanInput): TestPlan {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-failover-plan-'));
  const file = join(dir, 'lifeboat.yaml');
  const replication = [
    ...(input.standbyUrl ? [`standby: ${input.standbyUrl}`] : []),
    ...(input.standbyDataDir ? [`standby_data_dir: ${input.standbyDataDir}`] : []),
    ...(input.bouncer ? ['traffic: bouncer'] : []),
    ...(input.replication ? [input.replication] : []),
  ];
  const yaml = [
    'version: 1',
    'organization: Failover test',
    'datasets:',
    '  users:',
    ...(input.rpo ? [`    rpo: ${input.rpo}`] : []),
    `    source: { type: postgres, url: "${input.primaryUrl}"${input.primaryDataDir ? `, data_dir: ${input.primaryDataDir}` : ''} }`,
    ...(replication.length ? [`    replication: { ${replication.join(', ')} }`] : []),
    '  cache:',
    '    source: { type: redis, url: "redis://127.0.0.1:1" }',
    ...(input.bouncer
      ? [
          'traffic:',
          `  bouncer: { type: pgbouncer, config: ${input.bouncer.iniPath}, admin_url: "postgres://postgres:${encodeURIComponent(input.bouncer.password ?? decodeURIComponent(new URL(input.primaryUrl).password))}@127.0.0.1:${input.bouncer.adminPort}/pgbouncer", database: postgres }`,
        ]
      : []),
    '',
  ].join('\n');
  writeFileSync(file, yaml);
  // The state store (audit log) beside the plan, never a shared database.
  const env: NodeJS.ProcessEnv = { ...process.env, LIFEBOAT_HOME: join(dir, '.lifeboat') };
  delete env.LIFEBOAT_DATABASE_URL;
  const run = (args: string[], timeoutMs = 120_000) => runCli([...args, '--plan', file], { timeoutMs, env });
  return {
    file,
    run,
    json: async (args, timeoutMs) => {
      const result = await run([...args, '--json'], timeoutMs);
      try {
        return { run: result, body: JSON.parse(result.stdout) as Record<string, unknown> };
      } catch {
        throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A stack trace in a CLI's output is a bug: every error must be a message and a hint. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text);
}

/** Every audit entry in the state store beside the plan at `planFile`, newest first. */
export async function auditLog(planFile: string) {
  const store = await openStateStore({ path: join(dirname(planFile), '.lifeboat', 'state.db') });
  try {
    return await store.listAudit({ limit: 1000 });
  } finally {
    await store.close();
  }
}
