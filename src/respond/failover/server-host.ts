/**
 * A ManagedServer for a server a plan names: reached over SQL at its URL and, when its data
 * directory is given (Lifeboat runs on its host), stopped, started and rewound there with
 * the binaries and settings it runs with. Without a data directory Lifeboat cannot act on
 * the host, and says so: failover then fences through the router and on the server's return.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../../errors.js';
import { releaseReadOnlyHold } from './read-only-hold.js';
import { findPostgresBinDir } from '../../stores/postgres/sandbox.js';
import { osUser, runningAsRoot } from '../../system/instance.js';
import { firstLines, runTool, type RunResult } from '../../system/tool.js';
import {
  clearStalePidFile,
  endpointOf,
  isRunning,
  killIfStillRunning,
  stopWaitSeconds,
  secretsOfEnv,
  type Endpoint,
  type ManagedServer,
  type RunBinOptions,
} from './server.js';

export interface HostServerOptions {
  /** [a-z0-9_]: the standby's application_name and slot. */
  name: string;
  url: string;
  /** The data directory on this host. Default: none (Lifeboat cannot stop or start it). */
  dataDir?: string;
  /** Where routers send its clients. Default: the url's host and port. */
  endpoint?: Endpoint;
  /** Where pg_ctl, pg_rewind and postgres are. Default: those the server was started with, else the newest installed. */
  binDir?: string;
  /** What the plan calls the data directory, for messages. Default: `its data directory`. */
  dataDirField?: string;
}

export function managedFromHost(options: HostServerOptions): ManagedServer {
  const { name, dataDir } = options;
  const field = options.dataDirField ?? 'its data directory';
  // pg_rewind removes postmaster.opts: a rejoined server starts with the options read before.
  let remembered = dataDir === undefined ? undefined : readOpts(dataDir);
  const opts = (): string[] | undefined => {
    const read = dataDir === undefined ? undefined : readOpts(dataDir);
    if (read) remembered = read;
    return remembered;
  };
  const binDir = () => options.binDir ?? startedBinDir(opts()) ?? findPostgresBinDir();
  const runBin = (tool: string, args: string[], runOptions: RunBinOptions = {}) =>
    runTool(join(binDir(), tool), args, {
      ...ownerOf(dataDir),
      ...(dataDir ? { cwd: dataDir } : {}),
      env: { LC_ALL: 'C', ...runOptions.env },
      secrets: secretsOfEnv(runOptions.env),
      ...(runOptions.timeoutMs === undefined ? {} : { timeoutMs: runOptions.timeoutMs }),
    });
  const onHost = (what: string): string => {
    if (dataDir === undefined)
      throw new EnvironmentError(`cannot ${what} ${name}: Lifeboat does not know its data directory`, {
        hint: `Run Lifeboat on its host and set ${field} in the plan.`,
      });
    if (!existsSync(join(dataDir, 'PG_VERSION')))
      throw new EnvironmentError(`cannot ${what} ${name}: ${dataDir} is not a PostgreSQL data directory`, {
        hint: `Check ${field} in the plan, and that Lifeboat runs on the server's host.`,
      });
    return dataDir;
  };
  const check = (result: RunResult, what: string) => {
    if (result.code !== 0)
      throw new EnvironmentError(`cannot ${what} ${name}: ${firstLines(result.stderr || result.stdout)}`, {
        hint: `Its log is ${logFileOf(dataDir ?? '')}.`,
      });
  };
  return {
    name,
    url: options.url,
    endpoint: options.endpoint ?? endpointOf(options.url),
    dataDir: dataDir ?? '',
    runBin,
    start: async () => {
      const dir = onHost('start');
      clearStalePidFile(dir);
      const args = ['-D', dir, '-l', logFileOf(dir), '-w', '-t', '60'];
      const started = startedOptions(opts());
      check(await runBin('pg_ctl', [...args, ...(started ? ['-o', started] : []), 'start']), 'start');
    },
    stop: async (mode) => {
      const dir = onHost('stop');
      if (!isRunning(dir)) return;
      const stopped = await runBin('pg_ctl', [
        '-D',
        dir,
        '-m',
        mode,
        '-w',
        '-t',
        stopWaitSeconds(mode),
        'stop',
      ]);
      if (mode === 'immediate') await killIfStillRunning(dir);
      if (isRunning(dir)) check(stopped, 'stop');
    },
    recoverOffline: async () => {
      const dir = onHost('recover');
      clearStalePidFile(dir);
      releaseReadOnlyHold(dir);
      check(
        await runBin('postgres', ['--single', '-D', dir, ...startedArgs(opts()), 'template1']),
        'recover',
      );
    },
    agentReachable: async () => dataDir !== undefined && existsSync(join(dataDir, 'PG_VERSION')),
  };
}

/** Where a server started by Lifeboat logs: pg_ctl needs a file, or it holds our pipes open. */
export function logFileOf(dataDir: string): string {
  return join(dataDir, 'lifeboat-postgres.log');
}

/**
 * Root runs the tools as the data directory's owner (or, for one still to be made, its
 * parent's), and as `postgres` where that is root: PostgreSQL refuses to run as root.
 */
export function ownerOf(dir: string | undefined): { uid?: number; gid?: number } {
  if (!runningAsRoot() || dir === undefined) return {};
  const stat = statSync(existsSync(dir) ? dir : dirname(dir));
  if (stat.uid !== 0) return { uid: stat.uid, gid: stat.gid };
  const { uid, gid } = osUser('postgres');
  return { uid, gid };
}

/**
 * postmaster.opts holds the command line the server last started with (`"BIN" "-D" "DIR"
 * "-c" "config_file=..."`): starting it again with the same options keeps settings that live
 * outside the data directory (a config_file in /etc, a port given on the command line).
 */
function readOpts(dataDir: string): string[] | undefined {
  try {
    const line = readFileSync(join(dataDir, 'postmaster.opts'), 'utf8').trim();
    return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  } catch {
    return undefined;
  }
}

function startedBinDir(opts: string[] | undefined): string | undefined {
  const binary = opts?.[0];
  return binary && existsSync(binary) ? dirname(binary) : undefined;
}

function startedArgs(opts: string[] | undefined): string[] {
  const [, ...args] = opts ?? [];
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-D') i++;
    else out.push(args[i]!);
  }
  return out;
}

/** The same options as one string for pg_ctl -o, which hands it to a shell. */
function startedOptions(opts: string[] | undefined): string | undefined {
  const args = startedArgs(opts);
  return args.length ? args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') : undefined;
}
