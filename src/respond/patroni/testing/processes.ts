/**
 * For the Patroni test cluster: its server processes (etcd, Patroni, and the PostgreSQL that
 * Patroni starts), each started as the `postgres` OS user when we are root (PostgreSQL refuses
 * root), its output in a log file, and killed with everything it started however the test
 * ends. Patroni double-forks PostgreSQL into a session of its own, so killing Patroni's
 * process group does not reach it: the postmaster is found through its pid file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError } from '../../../errors.js';
import { osUser, registerInstance, runningAsRoot, type OsUser } from '../../../system/instance.js';
import { livePostmasterPid, processAlive } from '../../../system/process.js';

/** The OS user the servers run as: `postgres` when we are root, else ourselves. */
export function serverUser(): OsUser | undefined {
  return runningAsRoot() ? osUser('postgres') : undefined;
}

/** Fails with what to install when a program the cluster needs is missing. */
export function requirePrograms(programs: { command: string; debianPackage: string }[]): void {
  const missing = programs.filter(
    (p) => spawnSync(p.command, ['--version'], { stdio: 'ignore' }).error !== undefined,
  );
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((p) => p.debianPackage))].join(' ');
  throw new EnvironmentError(
    `the Patroni tests need ${missing.map((p) => p.command).join(', ')}, not installed here: ` +
      `run scripts/setup.sh as root, or: sudo apt-get install ${packages}`,
    {
      hint: 'They run against a real Patroni cluster and are never skipped.',
      details: { debianPackages: packages.split(' ') },
    },
  );
}

/** tini as the subreaper of Patroni when installed: a killed postmaster is reaped at once, not by PID 1 whenever. */
export function subreaper(): string | undefined {
  return spawnSync('tini', ['--version'], { stdio: 'ignore' }).error ? undefined : 'tini';
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The last lines of its log, for an error message. */
  logTail(lines?: number): string;
  /** Kills it, its descendants and the PostgreSQL whose data dir was given, and waits until they are gone. */
  kill(): Promise<void>;
  /** The same without waiting, for the process's `exit` hook. */
  killSync(): void;
}

export function startServer(
  command: string,
  args: string[],
  options: { cwd: string; logFile: string; user: OsUser | undefined; postgresDataDir?: string },
): ServerProcess {
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, HOME: options.cwd, LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', log, log],
    // Its own process group, so a Ctrl-C reaches the test only, which then kills it.
    detached: true,
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
  });
  closeSync(log);
  child.once('error', () => undefined);
  // Once Patroni has exited and been reaped, its pid may belong to any process of the host (a
  // test's child, a CLI under test): it is no root to kill any more.
  const running = () => child.exitCode === null && child.signalCode === null;
  const roots = () => [
    running() ? child.pid : undefined,
    options.postgresDataDir && livePostmasterPid(options.postgresDataDir),
  ];
  const killSync = () => killTrees(roots().filter((p): p is number => typeof p === 'number'));
  const unregister = registerInstance({ stop: () => kill(), killSync });
  let stopping: Promise<void> | undefined;
  const kill = () =>
    (stopping ??= (async () => {
      const pids = roots().filter((p): p is number => typeof p === 'number');
      const all = [...pids, ...pids.flatMap(descendantsOf)];
      killTrees(pids);
      await waitGone(all);
      unregister();
    })());
  return {
    child,
    logFile: options.logFile,
    logTail: (lines = 5) =>
      existsSync(options.logFile)
        ? readFileSync(options.logFile, 'utf8').trim().split('\n').slice(-lines).join(' / ')
        : '',
    kill,
    killSync,
  };
}

/** Freezes `roots` and all their descendants, then SIGKILLs them: none reacts to the others dying. */
function killTrees(roots: number[]): void {
  const all = [...roots, ...roots.flatMap(descendantsOf)];
  for (const pid of all) signal(pid, 'SIGSTOP');
  for (const pid of [...all, ...roots.flatMap(descendantsOf)]) signal(pid, 'SIGKILL');
}

/** Until each pid is gone or a zombie (its parent may reap late; it holds nothing any more). */
async function waitGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && pids.some(processAlive)) await sleep(20);
}

function descendantsOf(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && !found.includes(pid)) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
