/**
 * One restic run per repository at a time: an in-process queue keyed by repository, and a
 * lock file that other Lifeboat processes on this host honour.
 *
 * The lock file is created atomically (written under a unique name, then hard-linked to
 * its final name, which fails if it exists) and names its holder: pid, host and the
 * process's start time. A holder on this host whose process is gone, or whose pid now
 * belongs to a process started at another time, has crashed: its lock is stale and is
 * broken. A lock from another host (a lock directory on shared storage) is never broken.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../../errors.js';
import { processStartTime, sameProcessRuns } from '../../system/process.js';

export interface LockOptions {
  /** Where lock files live. Default: `os.tmpdir()/lifeboat-locks`. */
  dir?: string;
  /** How long to wait for another process's lock before giving up, in ms. Default: 600000 (10 min). */
  waitMs?: number;
  /** How often to look again while waiting, in ms. Default: 250. */
  pollMs?: number;
}

export interface LockHolder {
  pid: number;
  hostname: string;
  /**
   * Start time of the process (Linux clock ticks since boot), to tell a reused pid apart; lock
   * files written by earlier versions hold it as text.
   */
  processStart?: number | string | undefined;
  /** What the lock protects, for people reading the file. */
  key: string;
  /** Random token that proves ownership on release. */
  token: string;
  acquiredAt: string;
}

export interface HeldLock {
  path: string;
  holder: LockHolder;
  /** Whether a stale lock of a crashed process was broken to get this one. */
  brokeStale: boolean;
  release(): Promise<void>;
}

export function defaultLockDir(): string {
  return join(tmpdir(), 'lifeboat-locks');
}

/** The lock file of a key: a hash, so that any URL makes a safe file name. */
export function lockPath(dir: string, key: string): string {
  return join(dir, `restic-${createHash('sha256').update(key).digest('hex').slice(0, 24)}.lock`);
}

/** Whether the holder is a process of this host that no longer runs. */
export function isStale(holder: LockHolder): boolean {
  return holder.hostname === hostname() && !sameProcessRuns(holder.pid, holder.processStart);
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unparsable: not written by us (we write before linking). Treat it as held.
    return { pid: -1, hostname: '?', key: '?', token: '?', acquiredAt: '?' };
  }
}

/**
 * Moves a stale lock out of the way. Renaming is atomic, so of two processes that both
 * found the lock stale only one moves it; if the file moved turns out not to be the stale
 * one we read (another process took the lock in between), it is put back.
 */
async function breakStale(path: string, stale: LockHolder): Promise<void> {
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readHolder(aside);
  if (moved && moved.token !== stale.token) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

const held = new Map<string, string>(); // path → token, for removal at exit
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [path, token] of held) {
      try {
        if ((JSON.parse(readFileSync(path, 'utf8')) as LockHolder).token === token) unlinkSync(path);
      } catch {
        // Already gone or unreadable: nothing to release.
      }
    }
  });
}

/** A lock that cannot be written: a full or read-only disk is the user's to fix, not a bug. */
function lockWriteError(error: unknown, dir: string, key: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new EnvironmentError(`no space left on device: cannot write the lock of ${key} in ${dir}`, {
      cause: error,
      details: { path: dir, code },
      hint: `free space on the file system that holds ${dir} (df -h shows how full it is), then retry`,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new EnvironmentError(`cannot write the lock of ${key} in ${dir}: ${code}`, {
      cause: error,
      details: { path: dir, code },
      hint: `make ${dir} writable by this user`,
    });
  }
  return error;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the cross-process lock of `key`, waiting for a live holder and breaking a stale one. */
export async function acquireLock(key: string, options: LockOptions = {}): Promise<HeldLock> {
  const dir = options.dir ?? defaultLockDir();
  const waitMs = options.waitMs ?? 600_000;
  const pollMs = options.pollMs ?? 250;
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw lockWriteError(error, dir, key);
  });
  const path = lockPath(dir, key);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    processStart: processStartTime(process.pid),
    key,
    token: randomUUID(),
    acquiredAt: new Date().toISOString(),
  };
  const temp = `${path}.${holder.token}.tmp`;
  const deadline = Date.now() + waitMs;
  let brokeStale = false;
  try {
    // Inside the try: a write that fails half way (a full disk) still leaves a file to remove.
    await writeFile(temp, JSON.stringify(holder) + '\n', { mode: 0o600 }).catch((error: unknown) => {
      throw lockWriteError(error, dir, key);
    });
    for (;;) {
      try {
        await link(temp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = await readHolder(path);
      if (current && isStale(current)) {
        await breakStale(path, current);
        brokeStale = true;
        continue;
      }
      if (Date.now() >= deadline) {
        const who = current
          ? `pid ${current.pid} on ${current.hostname} since ${current.acquiredAt}`
          : 'another process';
        throw new EnvironmentError(`another Lifeboat process (${who}) is working on ${key}`, {
          details: { lockFile: path, holder: current },
          hint: `wait for it to finish; if that process is gone, remove ${path}`,
        });
      }
      await sleep(pollMs);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  held.set(path, holder.token);
  installExitHook();
  let released = false;
  return {
    path,
    holder,
    brokeStale,
    async release() {
      if (released) return;
      released = true;
      held.delete(path);
      const current = await readHolder(path);
      if (current?.token === holder.token) await unlink(path).catch(() => undefined);
    },
  };
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has settled, in this process. */
export function enqueue<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const result = previous.then(fn, fn);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/** `fn` run with both the in-process queue and the cross-process lock of `key`. */
export function withLock<T>(
  key: string,
  options: LockOptions,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  return enqueue(key, async () => {
    const lock = await acquireLock(key, options);
    try {
      return await fn(lock);
    } finally {
      await lock.release();
    }
  });
}
