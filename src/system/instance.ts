/**
 * What every throwaway instance (PostgreSQL, MariaDB, Redis) shares: the small interface,
 * the temp dir it lives in, and a registry that stops whatever is still running when the
 * process exits, so a failing test or an interrupted verification leaves no server behind.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';
import type { RecordHandle } from './instance-records.js';
import { pollUntil } from './poll.js';

export { recordInstance, type RecordHandle } from './instance-records.js';

export interface Instance {
  /** How a client reaches it, e.g. `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  readonly port: number;
  /** The server's data directory (inside the instance's temp dir). */
  readonly dataDir: string;
  /** Stops the server and removes its temp dir. Safe to call more than once. */
  stop(): Promise<void>;
}

interface Registered {
  stop(): Promise<void>;
  /** Best effort from the `exit` handler, where nothing asynchronous runs. */
  killSync(): void;
}

const live = new Set<Registered>();
let exitHookInstalled = false;

/**
 * Tracks a started instance until its stop() runs. Returns the function to call once it has
 * stopped; that also removes the instance's record (`recordInstance`), which is what lets the
 * next Lifeboat command reap a server whose owner was killed before it could stop it. The
 * process `exit` hook is synchronous, so it can only send signals and remove directories;
 * callers that own signal handling (the CLI) should `await stopAll()` first.
 */
export function registerInstance(entry: Registered, record?: RecordHandle): () => void {
  const tracked: Registered = record
    ? {
        stop: entry.stop,
        killSync: () => {
          entry.killSync();
          record.remove();
        },
      }
    : entry;
  live.add(tracked);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const instance of live) {
        try {
          instance.killSync();
        } catch {
          // Best effort: the process is exiting and cannot report anything.
        }
      }
    });
  }
  return () => {
    live.delete(tracked);
    record?.remove();
  };
}

/** Stops every instance this process started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  const results = await Promise.allSettled([...live].map((instance) => instance.stop()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Runs `work` and stops every instance it passed to `track`, whether `work` succeeds or
 * throws: `await withCleanup(async (track) => { const pg = track(await startPostgres()); ... })`.
 */
export async function withCleanup<T>(
  work: (track: <I extends Instance>(instance: I) => I) => Promise<T>,
): Promise<T> {
  const tracked: Instance[] = [];
  try {
    return await work((instance) => {
      tracked.push(instance);
      return instance;
    });
  } finally {
    await Promise.allSettled(tracked.reverse().map((instance) => instance.stop()));
  }
}

/** Makes `stop` run its body once; later calls wait for the first. */
export function once(body: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= body());
}

/**
 * A fresh temp dir only its owner may enter (0700): the server's data, socket and
 * configuration live there. Owned by `owner` when given (PostgreSQL runs as `postgres`);
 * root still reaches it.
 */
export function makeTempDir(prefix: string, owner?: OsUser): string {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-${prefix}-`));
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** A password for one throwaway server: random, URL- and config-file-safe (base64url). */
export function newInstancePassword(): string {
  return randomBytes(24).toString('base64url');
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** The OS user named `name`, from /etc/passwd (Node has no getpwnam). */
export function osUser(name: string): OsUser {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // Reported below as a missing user.
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new EnvironmentError(`the OS user "${name}" does not exist`, {
    hint: `Install the server package that creates it, or create it: useradd --system ${name}`,
  });
}

/** True when this process may switch users (and must, for servers that refuse root). */
export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Waits for a server being started: `failed` is consulted on every round so a server that
 * died during start-up is reported at once, not after the timeout.
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; failed?: () => string | undefined; what: string },
): Promise<void> {
  const { failed, what, timeoutMs } = options;
  await pollUntil(probe, timeoutMs, what, {
    intervalMs: options.intervalMs ?? 25,
    failed: () => {
      const failure = failed?.();
      return failure === undefined ? undefined : new EnvironmentError(`${what} did not start: ${failure}`);
    },
    timedOut: () =>
      new EnvironmentError(`${what} did not answer within ${timeoutMs} ms`, {
        hint: 'The machine may be overloaded; its log in the instance temp dir says more.',
      }),
  });
}

/** Sends `signal` to `pid`, ignoring a process that is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGKILLs a child (if still running) and resolves once it has exited. */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.ref();
  child.kill('SIGKILL');
  await gone;
}

/**
 * The stop function of a server that runs as our child process in its own temp dir: signal it,
 * wait until it is gone, remove the dir; registered so that an exiting test still kills it.
 * `signal`: SIGKILL for servers that need no clean shutdown (it skips their flush).
 */
export function childServerLifecycle(
  child: ChildProcess,
  dir: string,
  signal: NodeJS.Signals,
  record?: RecordHandle,
): () => Promise<void> {
  const stop = once(async () => {
    try {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.ref(); // Keep Node alive until it is gone.
        child.kill(signal);
        await gone;
      }
    } finally {
      removeDir(dir);
      unregister();
    }
  });
  const unregister = registerInstance(
    {
      stop,
      killSync: () => {
        if (child.pid !== undefined) signalProcess(child.pid, 'SIGKILL');
        removeDir(dir);
      },
    },
    record,
  );
  return stop;
}
