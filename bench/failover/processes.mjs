// The bench's own processes (etcd, Patroni, HAProxy): started as the `postgres` OS user in
// their own process groups, each with its log in a temp dir, and killed with everything they
// started however the bench ends: normally, on an error, on SIGINT/SIGTERM, or at exit.
import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Cleanups still to run, newest last; each runs once, synchronously (signals and rm only). */
const cleanups = new Set();

/** Registers `fn` (synchronous, best effort) to run at cleanup; returns the function that runs it now. */
export function onCleanup(fn) {
  const entry = () => {
    if (!cleanups.delete(entry)) return;
    try {
      fn();
    } catch {
      // Best effort: whatever fails here is already gone or cannot be helped.
    }
  };
  cleanups.add(entry);
  return entry;
}

/** Runs every registered cleanup, newest first. Safe to call more than once. */
export function cleanupAll() {
  for (const entry of [...cleanups].reverse()) entry();
}
process.on('exit', cleanupAll);

/** The uid and gid of `name`, from /etc/passwd. */
export function osUser(name) {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`the OS user "${name}" does not exist (apt-get install postgresql creates it)`);
}

const asRoot = process.getuid?.() === 0;
export const postgresUser = asRoot ? osUser('postgres') : undefined;

/** Set `keep.dirs` to leave the temp dirs (logs, configs, data) for a post-mortem; processes still die. */
export const keep = { dirs: false };

/** A temp dir owned by the postgres user, removed at cleanup (unless `keep.dirs`). */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-bench-${prefix}-`));
  if (postgresUser) chownSync(dir, postgresUser.uid, postgresUser.gid);
  dirRemovers.set(
    dir,
    onCleanup(() => {
      if (keep.dirs) process.stderr.write(`bench: kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }),
  );
  return dir;
}
const dirRemovers = new Map();

/** Removes a dir made by tempDir now (kill what runs in it first). */
export function removeTempDir(dir) {
  dirRemovers.get(dir)?.();
  dirRemovers.delete(dir);
}

/**
 * Starts `command` as the postgres user in its own process group (a Ctrl-C on the terminal
 * reaches the bench only, which then kills it), stdout and stderr into `logFile`.
 * Returns { pid, child, exited, kill() }; kill() SIGKILLs it and all its descendants.
 */
export function startProcess(command, args, { cwd, logFile, env = {} }) {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, HOME: cwd, ...env },
    stdio: ['ignore', log, log],
    detached: true,
    ...(postgresUser ?? {}),
  });
  closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', () => undefined);
  // Once Node has reaped it, its pid may belong to someone else: kill only a live child.
  const kill = onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) killTree(child.pid);
  });
  return { pid: child.pid, child, exited, kill };
}

/**
 * Kills the processes `roots` and all their descendants at one instant: all frozen (SIGSTOP)
 * first, so none reacts to the others dying (Patroni restarting its PostgreSQL, a backend
 * acknowledging a commit), then all SIGKILLed. Lifeboat's crash fault does the same
 * (killPostgres in src/drill/failover-host.ts).
 */
export function killTree(...roots) {
  const live = roots.filter(Boolean);
  if (!live.length) return;
  const all = [...live, ...live.flatMap(descendantsOf)];
  for (const p of all) signal(p, 'SIGSTOP');
  for (const p of [...all, ...live.flatMap(descendantsOf)]) signal(p, 'SIGKILL');
}

/** Processes whose parent chain leads to `root`, from /proc. */
export function descendantsOf(root) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited meanwhile.
    }
  }
  const found = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift();
    for (const [child, ppid] of parents) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Polls `probe` every `intervalMs` until it returns a truthy value (returned) or `timeoutMs` passes (throws). */
export async function waitFor(what, probe, { timeoutMs, intervalMs = 100 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

/** GET http://127.0.0.1:port/path: the status and the parsed JSON body (or null), within `timeoutMs`. */
export function httpGet(port, path, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('error', reject);
      response.on('end', () => {
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON.
        }
        resolve({ status: response.statusCode, body });
      });
    });
    request.on('timeout', () =>
      request.destroy(new Error(`GET :${port}${path}: no answer within ${timeoutMs} ms`)),
    );
    request.on('error', reject);
  });
}

/**
 * The postmaster started with `-p port` from a data dir under `dirPrefix`, if one runs: a
 * port has one listener, so this names at most the server the caller started on it.
 */
export function postmasterOnPort(port, dirPrefix) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(join('/proc', entry, 'cmdline'), 'utf8').split('\0');
      const at = (flag) => args[args.indexOf(flag) + 1];
      if (args[0]?.endsWith('/postgres') && at('-p') === String(port) && at('-D')?.startsWith(dirPrefix))
        return Number(entry);
    } catch {
      // Exited meanwhile.
    }
  }
  return undefined;
}
