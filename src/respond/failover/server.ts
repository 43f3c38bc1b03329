/**
 * A PostgreSQL server as failover sees it: how to reach it with SQL, where routers send its
 * clients, and (when Lifeboat runs on its host) how to stop, start and rewind it. One shape
 * for the primary, its standbys and an old primary that rejoins.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresInstance } from '../../stores/postgres/sandbox.js';
import { osUser, runningAsRoot } from '../../system/instance.js';
import { killPostmasterTree, livePostmasterPid, postmasterPid, processAlive } from '../../system/process.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstLines, runTool, type RunResult } from '../../system/tool.js';
import { EnvironmentError } from '../../errors.js';
import { releaseReadOnlyHold } from './read-only-hold.js';

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * A lease the server's host holds: its agent renews it with Lifeboat while it can reach us,
 * and a watchdog there stops PostgreSQL when it could not renew for `ttlMs` (Patroni's
 * leader key and watchdog work this way). It is what fences a primary Lifeboat cannot reach:
 * once the lease has run out, the old primary is down even if only the network between us
 * failed.
 */
export interface Lease {
  readonly ttlMs: number;
  /** Epoch ms of the host's last renewal; undefined before the first. */
  renewedAt(): number | undefined;
}

export interface ManagedServer {
  /** A name for messages, replication slots and application_name: [a-z0-9_]. */
  readonly name: string;
  /** The url Lifeboat and the monitor use (the network path to the server). */
  readonly url: string;
  /** Where a router sends clients of this server. Default: the url's host and port. */
  readonly endpoint: Endpoint;
  readonly dataDir: string;
  /** Runs a server binary (pg_ctl, pg_rewind, pg_waldump) on the host, as the server's OS user. */
  runBin(tool: string, args: string[], options?: RunBinOptions): Promise<RunResult>;
  /** Starts the data directory again with the settings it last ran with (restart in place, rejoin). */
  start(): Promise<void>;
  /** Stops it: `immediate` for a fence (no checkpoint, nothing more acknowledged), `fast` for a clean stop. */
  stop(mode: 'immediate' | 'fast'): Promise<void>;
  /**
   * Finishes crash recovery of the stopped data directory without letting any client in
   * (single-user mode), with the settings it runs with: pg_rewind would otherwise do it with
   * the data directory's own postgresql.conf alone, and lose settings it needs (wal_log_hints).
   */
  recoverOffline(): Promise<void>;
  /** True when Lifeboat can act on the host (its agent, ssh, or this machine) right now. */
  agentReachable(): Promise<boolean>;
  /** The host-side lease, when the host runs a watchdog. Default: none. */
  readonly lease?: Lease;
}

export interface ManagedFromInstanceOptions {
  name: string;
  /** The url Lifeboat uses. Default: the instance's url. */
  url?: string;
  /** Where routers send clients. Default: the url's host and port. */
  endpoint?: Endpoint;
  /** Default: always reachable (the instance runs on this machine). */
  agentReachable?: () => Promise<boolean>;
  lease?: Lease;
}

/** A ManagedServer for a throwaway instance on this machine (sandbox drills, tests). */
export function managedFromInstance(
  instance: PostgresInstance,
  options: ManagedFromInstanceOptions,
): ManagedServer {
  const url = options.url ?? instance.url;
  const owner = runningAsRoot() ? osUser('postgres') : undefined;
  const runBin = (tool: string, args: string[], runOptions: RunBinOptions = {}) =>
    runTool(join(instance.binDir, tool), args, {
      uid: owner?.uid,
      gid: owner?.gid,
      cwd: instance.tempDir,
      env: { HOME: instance.tempDir, LC_ALL: 'C', ...runOptions.env },
      secrets: secretsOfEnv(runOptions.env),
      ...(runOptions.timeoutMs === undefined ? {} : { timeoutMs: runOptions.timeoutMs }),
    });
  const server: ManagedServer = {
    name: options.name,
    url,
    endpoint: options.endpoint ?? endpointOf(url),
    dataDir: instance.dataDir,
    runBin,
    start: async () => {
      if (!existsSync(join(instance.dataDir, 'PG_VERSION')))
        throw new EnvironmentError(`cannot start ${options.name}: its data directory is gone`, {
          hint: `${instance.dataDir} is missing or unreadable; rebuild the server as a standby of the new primary.`,
        });
      clearStalePidFile(instance.dataDir);
      clearStalePidFile(instance.tempDir, `.s.PGSQL.${instance.port}.lock`);
      // The sandbox's own configuration file (port, socket, trust) stays in its temp dir.
      const started = await runBin('pg_ctl', [
        '-D',
        instance.dataDir,
        '-l',
        instance.logFile,
        '-w',
        '-t',
        '60',
        '-o',
        `-c config_file=${join(instance.tempDir, 'postgresql.conf')} -p ${instance.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${instance.tempDir} -c archive_mode=off`,
        'start',
      ]);
      if (started.code !== 0)
        throw new EnvironmentError(`cannot start ${options.name}: ${firstLines(started.stderr)}`, {
          hint: `${lastLog(instance.logFile)} (log: ${instance.logFile})`,
        });
    },
    stop: async (mode) => {
      if (!isRunning(instance.dataDir)) return;
      const stopped = await runBin('pg_ctl', [
        '-D',
        instance.dataDir,
        '-m',
        mode,
        '-w',
        '-t',
        stopWaitSeconds(mode),
        'stop',
      ]);
      if (mode === 'immediate') await killIfStillRunning(instance.dataDir);
      if (stopped.code !== 0 && isRunning(instance.dataDir))
        throw new EnvironmentError(`cannot stop ${options.name}: ${firstLines(stopped.stderr)}`);
    },
    recoverOffline: async () => {
      clearStalePidFile(instance.dataDir);
      releaseReadOnlyHold(instance.dataDir);
      const recovered = await runBin('postgres', [
        '--single',
        '-D',
        instance.dataDir,
        '-c',
        `config_file=${join(instance.tempDir, 'postgresql.conf')}`,
        'template1',
      ]);
      if (recovered.code !== 0)
        throw new EnvironmentError(
          `crash recovery of ${options.name} failed: ${firstLines(recovered.stderr)}`,
        );
    },
    agentReachable: options.agentReachable ?? (async () => true),
    ...(options.lease ? { lease: options.lease } : {}),
  };
  return server;
}

export function endpointOf(url: string): Endpoint {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 5432) };
}

/**
 * How long pg_ctl waits for a stop. An immediate stop (SIGQUIT) of a working postmaster takes
 * well under a second; one that has not stopped after a few is frozen or stuck, and a fence
 * must not wait on it (the outage would last as long as the freeze): it is killed instead.
 */
export function stopWaitSeconds(mode: 'immediate' | 'fast'): string {
  return mode === 'immediate' ? '2' : '60';
}

/** The fence of last resort: SIGKILL of a postmaster (and its children) that did not act on SIGQUIT. */
export async function killIfStillRunning(dataDir: string): Promise<void> {
  if (!isRunning(dataDir)) return;
  killPostmasterTree(dataDir);
  for (let i = 0; i < 50 && isRunning(dataDir); i++) await sleep(100);
}

/**
 * Removes postmaster.pid (or a socket's lock file, which holds the same pid) when its process is dead. PostgreSQL checks it with kill(pid, 0),
 * which succeeds on a killed postmaster that its parent has not reaped yet (a PID 1 that
 * reaps late): it would refuse to start, believing the old one still runs.
 */
export function clearStalePidFile(dir: string, file = 'postmaster.pid'): void {
  const pid = postmasterPid(dir, file);
  if (pid !== undefined && !processAlive(pid)) rmSync(join(dir, file), { force: true });
}

/** True when the data directory's postmaster is alive. */
export function isRunning(dataDir: string): boolean {
  const pid = livePostmasterPid(dataDir);
  return pid !== undefined && processAlive(pid);
}

function lastLog(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-2).join(' / ');
  } catch {
    return 'no log';
  }
}

export interface RunBinOptions {
  timeoutMs?: number;
  /** Added to the environment: a password goes here (PGPASSWORD), never into the arguments. */
  env?: Record<string, string>;
}

/** The password in a run's environment, kept out of the error messages built from its output. */
export function secretsOfEnv(env: Record<string, string> | undefined): string[] {
  return env?.PGPASSWORD ? [env.PGPASSWORD] : [];
}

/** PGPASSWORD for a tool that connects to `url`, when the url has a password. */
export function passwordEnv(url: string): Record<string, string> {
  const password = decodeURIComponent(new URL(url).password);
  return password ? { PGPASSWORD: password } : {};
}

/** ` password=...` for a primary_conninfo to `url` (kept in the data dir, as pg_basebackup -R does). */
export function conninfoPassword(url: string): string {
  const password = decodeURIComponent(new URL(url).password);
  return password ? ` password='${password.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : '';
}
