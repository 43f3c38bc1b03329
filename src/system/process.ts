/**
 * Whether a process runs, and which process a PostgreSQL pid file names: what the
 * failover, the drills and the throwaway servers ask before they signal or restart one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pid in postmaster.pid (or a socket's lock file, which holds the same pid), if the file is there. */
export function postmasterPid(dir: string, file = 'postmaster.pid'): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, file), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The postmaster of `dataDir` only when it still runs that data directory: a stale pid
 * file may name a pid the kernel has since given to another process.
 */
export function livePostmasterPid(dataDir: string): number | undefined {
  const pid = postmasterPid(dataDir);
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` runs. A zombie (killed, not yet reaped by a parent that reaps late) does
 * not: it holds no lock, no port and no file any more. Off Linux there is no /proc to tell
 * a zombie apart; a process of another user (EPERM) still counts as running.
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces; the state follows it.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/**
 * When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat): with the pid,
 * it names one process for good, since a pid the kernel hands out again gets a later start.
 * Undefined when the process is gone or there is no /proc.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (the state): field 22 is index 19.
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process that recorded (`pid`, `start`) still runs: alive, and not a later
 * process given the same pid. Without a recorded start (`undefined`), or off Linux, a live
 * pid is taken for the same process.
 */
export function sameProcessRuns(pid: number, start: number | string | undefined): boolean {
  if (!processAlive(pid)) return false;
  if (start === undefined) return true;
  const now = processStartTime(pid);
  // Lock files and the state store keep the start as text.
  return now === undefined || String(now) === String(start);
}

/**
 * Every live descendant of `pid` (children, their children...), from /proc's parent links;
 * none off Linux. A process that left its parent's tree (a daemon that detached) is not one.
 */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const list = children.get(Number(ppid)) ?? [];
      list.push(Number(entry));
      children.set(Number(ppid), list);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** SIGTERMs every descendant of this process: restic then removes its lock, dump tools stop. */
export function terminateDescendants(): void {
  for (const pid of descendantPids(process.pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Kills the postmaster of `dataDir` and all its descendants at one instant: every process is
 * frozen (SIGSTOP) first, so that none acknowledges a commit while the others die, then
 * killed. It works on a postmaster that cannot act on a signal of its own (frozen by SIGSTOP,
 * stuck in the kernel): the fence of last resort. True when there was one to kill.
 */
export function killPostmasterTree(dataDir: string): boolean {
  // Only a postmaster still running this data dir: after a first kill the pid file stays, and
  // its pid may since belong to any process of this host.
  const postmaster = livePostmasterPid(dataDir);
  if (postmaster === undefined) return false;
  const send = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  };
  const pids = [postmaster, ...descendantPids(postmaster)];
  for (const pid of pids) send(pid, 'SIGSTOP');
  for (const pid of new Set([...pids, ...descendantPids(postmaster)])) send(pid, 'SIGKILL');
  return true;
}
