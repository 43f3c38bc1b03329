/**
 * `lifeboat demo`, the main job end to end on this machine: start throwaway PostgreSQL,
 * MariaDB and Redis, fill them and a directory of files, write a plan for them, back every
 * dataset up, prove every backup by restoring it, and score the result. The servers are
 * stopped at the end (unless `keep`), whatever happened; the plan and the repository stay
 * in the demo dir for inspection with Lifeboat or plain restic.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OperationError, RefusedError } from '../errors.js';
import { redactUrl } from '../engines/restic/redact.js';
import { checkPlanFile } from '../plan/check.js';
import { planBackup, runBackup, type BackupEvent, type DatasetBackupResult } from '../protect/backup.js';
import { createProtectContext } from '../protect/context.js';
import { runVerify, type VerifyEvent } from '../protect/verify.js';
import { fillFiles, fillMariadb, fillPostgres, fillRedis } from './fill.js';
import { demoPlanYaml } from './plan.js';
import { scorecard, type DemoDatasetResult, type VerifiedPoint } from './scorecard.js';
import {
  runningDemoServers,
  startDemoServers,
  stopDemoServers,
  type DemoServerInfo,
  type DemoServers,
} from './servers.js';

export const DEMO_PLAN_HEADER = '# Written by `lifeboat demo`';

export type DemoStep = 'servers' | 'fill' | 'plan' | 'backup' | 'verify' | 'cleanup';

export type DemoEvent =
  | { type: 'step-start'; step: DemoStep; message: string }
  | { type: 'step-done'; step: DemoStep; message: string; seconds: number }
  | { type: 'backup'; event: BackupEvent }
  | { type: 'verify'; event: VerifyEvent };

export interface DemoOptions {
  /** The demo dir: the plan, `files/` and `.lifeboat/` (repository, key, state) go here. */
  dir: string;
  /** Leave the servers running after the demo. Default: false. */
  keep?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: DemoEvent) => void;
}

export interface DemoResult {
  ok: boolean;
  plan: string;
  repository: { url: string; passwordFile: string };
  datasets: DemoDatasetResult[];
  servers: {
    kept: boolean;
    /** The helper that owns them while they run: `kill PID` stops them all. */
    pid: number;
    postgres: { url: string; port: number };
    mariadb: { url: string; port: number };
    redis: { url: string; port: number };
  };
  /** Seconds per step and in total. */
  seconds: Record<DemoStep | 'total', number>;
}

export function demoPaths(dir: string) {
  const root = resolve(dir);
  const home = join(root, '.lifeboat');
  return {
    dir: root,
    plan: join(root, 'lifeboat.yaml'),
    files: join(root, 'files'),
    home,
    servers: join(home, 'demo-servers.json'),
    serversLog: join(home, 'demo-servers.log'),
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const emit = options.onEvent ?? (() => {});
  const paths = demoPaths(options.dir);
  refuseForeignDir(paths);
  mkdirSync(paths.home, { recursive: true });
  const seconds: DemoResult['seconds'] = {
    servers: 0,
    fill: 0,
    plan: 0,
    backup: 0,
    verify: 0,
    cleanup: 0,
    total: 0,
  };
  const step = async <T>(
    name: DemoStep,
    message: string,
    work: () => Promise<T>,
    done: (value: T) => string,
  ) => {
    if (options.signal?.aborted) throw new OperationError('the demo was interrupted');
    emit({ type: 'step-start', step: name, message });
    const t = Date.now();
    const value = await work();
    seconds[name] = (Date.now() - t) / 1000;
    emit({ type: 'step-done', step: name, message: done(value), seconds: seconds[name] });
    return value;
  };

  let servers: DemoServers | undefined;
  let kept = false;
  try {
    servers = await step(
      'servers',
      'starting throwaway PostgreSQL, MariaDB and Redis',
      () => startDemoServers(paths.servers, paths.serversLog),
      (s) =>
        `PostgreSQL on port ${s.info.postgres.port}, MariaDB on ${s.info.mariadb.port}, Redis on ${s.info.redis.port}`,
    );
    const info = servers.info;
    await step(
      'fill',
      'filling them: pgbench -i -s 5, documents, customers and orders, Redis keys, files',
      () => fill(info, paths.files),
      () => 'data in place',
    );
    const checked = await step(
      'plan',
      `writing the plan ${paths.plan}`,
      async () => {
        writeFileSync(
          paths.plan,
          demoPlanYaml({
            servers: info,
            filesPath: './files',
            today: new Date().toISOString().slice(0, 10),
            reference: (server, url) => urlFile(paths.home, server, url),
          }),
        );
        return checkPlanFile(paths.plan);
      },
      (c) =>
        `${Object.keys(c.loaded.plan?.datasets ?? {}).length} datasets; plan check: ${c.errors.length} errors, ${c.warnings.length} warnings`,
    );
    if (!checked.loaded.plan || checked.errors.length > 0) {
      throw new OperationError(
        `the demo wrote a plan that does not pass plan check (a bug): ${checked.errors[0]?.message ?? ''}`,
      );
    }
    const context = createProtectContext(checked.loaded);
    try {
      const backups = await step(
        'backup',
        'backing up every dataset into the local restic repository',
        () =>
          runBackup(
            context,
            planBackup(context.plan, [], (id) => context.repositoryOf(id)),
            {
              ...(options.signal ? { signal: options.signal } : {}),
              onEvent: (event) => emit({ type: 'backup', event }),
            },
          ),
        (results) => `${results.filter((r) => r.ok).length} of ${results.length} backed up`,
      );
      const verifications = await step(
        'verify',
        'proving every backup: restoring it into a fresh instance, comparing and checking',
        () => verify(context, backups, (event) => emit({ type: 'verify', event })),
        (results) => `${results.filter((r) => r.ok).length} of ${results.length} verified`,
      );
      const datasets = scorecard(context.plan, backups, verifications, new Date());
      kept = Boolean(options.keep) && !options.signal?.aborted;
      return {
        ok: datasets.every((d) => d.verified),
        plan: paths.plan,
        repository: {
          url: join(context.homeDir, 'repository'),
          passwordFile: join(context.homeDir, 'repository.key'),
        },
        datasets,
        servers: {
          kept,
          pid: info.pid,
          postgres: { url: redactUrl(info.postgres.url), port: info.postgres.port },
          mariadb: { url: redactUrl(info.mariadb.url), port: info.mariadb.port },
          redis: { url: redactUrl(info.redis.url), port: info.redis.port },
        },
        seconds,
      };
    } finally {
      await context.close();
    }
  } finally {
    if (servers) {
      const t = Date.now();
      if (kept) servers.keep();
      else {
        emit({ type: 'step-start', step: 'cleanup', message: 'stopping and removing the throwaway servers' });
        await servers.stop();
        seconds.cleanup = (Date.now() - t) / 1000;
        emit({ type: 'step-done', step: 'cleanup', message: 'servers stopped', seconds: seconds.cleanup });
      }
    }
    seconds.total = (Date.now() - started) / 1000;
  }
}

async function fill(info: DemoServerInfo, filesDir: string): Promise<void> {
  rmSync(filesDir, { recursive: true, force: true });
  mkdirSync(filesDir, { recursive: true });
  fillFiles(filesDir);
  await Promise.all([
    fillPostgres(info.postgres.url),
    fillMariadb(info.mariadb.url),
    fillRedis(info.redis.url),
  ]);
}

async function verify(
  context: ReturnType<typeof createProtectContext>,
  backups: DatasetBackupResult[],
  onEvent: (event: VerifyEvent) => void,
): Promise<VerifiedPoint[]> {
  const ids = backups.filter((b) => b.ok).map((b) => b.dataset);
  if (ids.length === 0) return [];
  return runVerify(context, ids, { onEvent });
}

/**
 * The demo rewrites the plan and the files in its dir: never in a dir that holds someone
 * else's plan. A dir whose servers a `--keep` run left running is refused too.
 */
function refuseForeignDir(paths: ReturnType<typeof demoPaths>): void {
  if (existsSync(paths.plan) && !readFileSync(paths.plan, 'utf8').startsWith(DEMO_PLAN_HEADER)) {
    throw new RefusedError(
      `${paths.plan} exists and was not written by the demo; the demo would overwrite it`,
      {
        hint: 'pass --dir with a new or empty directory (or leave --dir out for a new temp dir)',
      },
    );
  }
  if (runningDemoServers(paths.servers)) {
    throw new RefusedError(`a previous \`lifeboat demo --keep\` in ${paths.dir} left its servers running`, {
      hint: `stop them first: lifeboat demo --stop ${paths.dir}`,
    });
  }
}

export { stopDemoServers };

/** A server's url, password included, in a file only this user reads; the plan names the file. */
function urlFile(home: string, server: string, url: string): string {
  const file = join(home, `${server}.url`);
  writeFileSync(file, `${url}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return `file:.lifeboat/${server}.url`;
}
