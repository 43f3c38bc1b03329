/**
 * A throwaway primary protected by pgBackRest, for the PITR drill and the tests: a sandbox
 * PostgreSQL, and a small plan file in a temp dir whose physical datasets point at it, so
 * that everything runs the very code a real dataset uses (Lifeboat-generated config,
 * archiving set up through applyArchiving, the state store under the temp dir).
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../../../errors.js';
import { loadPlanFile } from '../../../plan/load.js';
import { createProtectContext, type ProtectContext } from '../../context.js';
import {
  makeTempDir,
  osUser,
  registerInstance,
  removeDir,
  runningAsRoot,
  signalProcess,
} from '../../../system/instance.js';
import { startPostgres, type PostgresInstance } from '../../../stores/postgres/sandbox.js';
import { stopRestoredCluster } from '../../../engines/pgbackrest/restored-cluster.js';
import { livePostmasterPid } from '../../../system/process.js';

export interface SandboxPrimary {
  pg: PostgresInstance;
  /** The temp dir holding the plan, `.lifeboat/` (config, state) and the repository. */
  workDir: string;
  context: ProtectContext;
  /** The local pgBackRest repository (`<workDir>/repository`). */
  repositoryDir: string;
  /**
   * Restarts the primary so that ALTER SYSTEM archive_mode takes effect. The sandbox starts
   * every server with `-c archive_mode=off` on its command line (a restored copy must never
   * archive, and the command line beats postgresql.auto.conf), so this primary is started
   * again without it: same config file, port and socket.
   */
  restart(): Promise<void>;
  /**
   * Files in a stanza's archive whose timeline is not the primary's first one: a restored
   * copy that promoted (timeline 2) and archived would have left some (`00000002.history`).
   */
  filesOnOtherTimelines(stanza: string): string[];
  /** Stops the primary and removes everything. Safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface SandboxPrimaryOptions {
  /** Physical datasets of the plan, all on this primary and one repository. */
  datasets: string[];
  /** Default: 5m. */
  rpo?: string;
  /**
   * The `sandbox` repository's YAML body (indented under its id), e.g. an S3 one. Default:
   * `type: pgbackrest` with `url: ./repository`.
   */
  repository?: string;
  /** Added to the environment the plan's `env:` references read. */
  env?: Record<string, string>;
  /** More YAML for every dataset, each line indented by four spaces, e.g. its `verify:` checks. Default: none. */
  datasetYaml?: string;
}

export async function startSandboxPrimary(options: SandboxPrimaryOptions): Promise<SandboxPrimary> {
  const owner = runningAsRoot() ? osUser('postgres') : undefined;
  const workDir = makeTempDir('pitr', owner);
  let pg: PostgresInstance | undefined;
  try {
    // fsync off spares the two cores a few seconds per checkpoint. full_page_writes stays on,
    // as in production: the drill measures a real recovery.
    pg = await startPostgres({ extraConf: { fsync: 'off', wal_level: 'replica' } });
    const planFile = join(workDir, 'lifeboat.yaml');
    writeFileSync(planFile, sandboxPlan(pg, options));
    const loaded = loadPlanFile(planFile);
    if (!loaded.plan) {
      throw new EnvironmentError(
        `the sandbox plan does not validate: ${loaded.findings.map((f) => f.message).join('; ')}`,
      );
    }
    // State and config live in the temp dir, whatever the caller's environment says.
    const env = { ...process.env, ...options.env };
    delete env.LIFEBOAT_HOME;
    delete env.LIFEBOAT_DATABASE_URL;
    const context = createProtectContext(loaded, env);
    const instance = pg;
    let cleaned: Promise<void> | undefined;
    const cleanup = (): Promise<void> =>
      (cleaned ??= (async () => {
        try {
          await context.close().catch(() => undefined);
          for (const dataDir of restoredDataDirs(workDir)) {
            await stopRestoredCluster({ dataDir, user: owner, binDir: instance.binDir }, 'immediate');
          }
          await instance.stop();
        } finally {
          removeDir(workDir);
          unregister();
        }
      })());
    // Restored copies are started by pg_ctl, outside the sandbox's registry: an interrupted
    // drill must not leave them running.
    const unregister = registerInstance({
      stop: cleanup,
      killSync: () => {
        for (const dataDir of restoredDataDirs(workDir)) {
          const pid = livePostmasterPid(dataDir);
          if (pid !== undefined) signalProcess(pid, 'SIGQUIT');
        }
        removeDir(workDir);
      },
    });
    return {
      pg: instance,
      workDir,
      context,
      repositoryDir: join(workDir, 'repository'),
      restart: () => restartWithArchiving(instance),
      filesOnOtherTimelines: (stanza) =>
        filesOnOtherTimelines(join(workDir, 'repository', 'archive', stanza)),
      cleanup,
    };
  } catch (error) {
    await pg?.stop();
    removeDir(workDir);
    throw error;
  }
}

function sandboxPlan(pg: PostgresInstance, options: SandboxPrimaryOptions): string {
  const datasets = options.datasets.map(
    (id) => `  ${id}:
    rpo: ${options.rpo ?? '5m'}
    source:
      type: postgres
      url: ${JSON.stringify(pg.url)}
      data_dir: ${JSON.stringify(pg.dataDir)}
    backup:
      method: physical
      every: 1h
      full_every: weekly
      repository: sandbox
    retention: { last: 3 }
${options.datasetYaml ?? ''}`,
  );
  return `# Written by Lifeboat for a throwaway primary; removed with its temp dir.
version: 1
organization: Lifeboat sandbox
datasets:
${datasets.join('')}repositories:
  sandbox:
${options.repository ?? '    type: pgbackrest\n    url: ./repository'}
`;
}

async function restartWithArchiving(pg: PostgresInstance): Promise<void> {
  const stopped = await pg.pgCtl(['-m', 'fast', '-w', 'stop']);
  if (stopped.code !== 0)
    throw new EnvironmentError(`the sandbox primary did not stop: ${stopped.stderr.trim()}`);
  const options = [
    `-c config_file=${join(pg.tempDir, 'postgresql.conf')}`,
    `-p ${pg.port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${pg.socketDir}`,
  ].join(' ');
  const started = await pg.pgCtl(['-l', pg.logFile, '-w', '-t', '60', '-o', options, 'start']);
  if (started.code !== 0)
    throw new EnvironmentError(`the sandbox primary did not restart: ${started.stderr.trim()}`);
}

function filesOnOtherTimelines(dir: string): string[] {
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...filesOnOtherTimelines(path));
    else if (/^[0-9A-F]{8}/.test(name) && !name.startsWith('00000001')) found.push(path);
  }
  return found;
}

/** `<workDir>/<name>/data` directories holding a restored cluster (running or not). */
function restoredDataDirs(workDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(workDir);
  } catch {
    return [];
  }
  return names.map((n) => join(workDir, n, 'data')).filter((d) => existsSync(join(d, 'PG_VERSION')));
}
