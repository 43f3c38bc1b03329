/**
 * Starts `postgres` itself as a child of this process and waits until it accepts
 * connections. Not through `pg_ctl start`: pg_ctl puts the server in a session of its own and
 * leaves it there, so that a SIGKILLed owner left a server running, with restored data in it,
 * until the next Lifeboat command reaped it. Started here, the kernel stops it when its owner
 * dies (spawnBoundWith), however that happens.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, fchownSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnBoundWith } from '../../system/tool.js';
import type { OsUser } from '../../system/instance.js';

export interface PostmasterOptions {
  binDir: string;
  dataDir: string;
  /** Command-line settings after `-D dataDir` (`-c name=value`, `-p port`). */
  args: string[];
  /** Where the server's stderr (its log: no logging collector) is appended. */
  logFile: string;
  /** Run as this user (Lifeboat is root; PostgreSQL refuses to run as root). */
  owner: OsUser | undefined;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /**
   * The server ends when this process does (true), or keeps running until stopped or reaped.
   * Default: true.
   */
  bound?: boolean;
}

export type PostmasterStart = { pid: number } | { failure: string };

/**
 * SIGQUIT, not SIGKILL, when the owner dies: it is the postmaster's immediate shutdown, which
 * ends its backends before the postmaster exits and removes its shared memory. A SIGKILLed
 * postmaster leaves its backends running (a COPY of a restore goes on until it next looks for
 * its postmaster) and its System V segment behind.
 */
const spawnPostmaster = spawnBoundWith('SIGQUIT');

export async function startPostmaster(options: PostmasterOptions): Promise<PostmasterStart> {
  const { dataDir, owner } = options;
  const log = openSync(options.logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    if (owner) fchownSync(log, owner.uid, owner.gid);
    child = (options.bound === false ? spawn : spawnPostmaster)(
      join(options.binDir, 'postgres'),
      ['-D', dataDir, ...options.args],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        uid: owner?.uid,
        gid: owner?.gid,
        // A session of its own, as pg_ctl gave it: the terminal's Ctrl-C reaches Lifeboat,
        // which decides when the server stops (a failover drill finishes its step first).
        detached: true,
        stdio: ['ignore', log, log],
      },
    );
  } finally {
    closeSync(log);
  }
  // A server this process forgot must not keep it alive; its exit hook stops it.
  child.unref();
  let exited: string | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    exited = error.code === 'ENOENT' ? `${join(options.binDir, 'postgres')} is not installed` : error.message;
  });
  child.once('exit', (code, signal) => {
    exited ??= `exited (${signal ?? `code ${code}`})`;
  });
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (exited !== undefined) return { failure: exited };
    if (child.pid !== undefined && accepting(dataDir, child.pid)) return { pid: child.pid };
    if (Date.now() > deadline) {
      await stopChild(child);
      return { failure: `not ready within ${options.timeoutMs / 1000} s` };
    }
    await sleep(25);
  }
}

/**
 * What `pg_ctl -w` waits for: postmaster.pid names our child and says `ready` (or `standby`,
 * a standby without hot_standby, which accepts no connection and never will).
 */
function accepting(dataDir: string, pid: number): boolean {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return false;
  }
  const status = lines[7]?.trim();
  return Number(lines[0]) === pid && (status === 'ready' || status === 'standby');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.ref();
  child.kill('SIGQUIT');
  const stopped = await Promise.race([
    gone.then(() => true),
    sleep(10_000, undefined, { ref: false }).then(() => false),
  ]);
  if (!stopped) {
    child.kill('SIGKILL');
    await gone;
  }
}
