/**
 * Running the database tools that sources and sandboxes drive (psql, pg_dump, mariadb,
 * redis-cli, initdb...): one place that turns a missing binary into an EnvironmentError
 * naming the Debian package, captures stderr for error messages, and keeps secrets out of
 * them.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EnvironmentError, OperationError } from '../errors.js';
import { isHeldForHandOver } from './pipe-handover.js';

/** The Debian package that installs each tool, for the hint of a missing-binary error. */
const debianPackage: Record<string, string> = {
  psql: 'postgresql-client',
  pg_dump: 'postgresql-client',
  pg_dumpall: 'postgresql-client',
  pg_restore: 'postgresql-client',
  createdb: 'postgresql-client',
  pgbench: 'postgresql-client',
  initdb: 'postgresql',
  pg_ctl: 'postgresql',
  postgres: 'postgresql',
  mariadb: 'mariadb-client',
  'mariadb-dump': 'mariadb-client',
  mariadbd: 'mariadb-server',
  'mariadb-install-db': 'mariadb-server',
  'redis-cli': 'redis-tools',
  'redis-server': 'redis-server',
  sh: 'dash',
};

export function packageFor(command: string): string | undefined {
  return debianPackage[command.split('/').pop() ?? command];
}

export function missingToolError(command: string, cause?: unknown): EnvironmentError {
  const name = command.split('/').pop() ?? command;
  const pkg = packageFor(command);
  return new EnvironmentError(`${name} is not installed (or not on PATH)`, {
    hint: pkg ? `Install it: apt-get install ${pkg}` : `Install ${name} and make sure it is on PATH.`,
    cause,
    details: { tool: name, ...(pkg ? { debianPackage: pkg } : {}) },
  });
}

/** A process whose standard output is data (a dump, an RDB, a command's output). */
export interface Producer {
  command: string;
  args: string[];
  /** Added to the inherited environment. Passwords go here (PGPASSWORD, MYSQL_PWD), never into args. */
  env?: Record<string, string>;
}

export interface RunOptions {
  /** Added to the inherited environment. */
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  /** Run as this user (only when Lifeboat runs as root): PostgreSQL refuses to run as root. */
  uid?: number | undefined;
  gid?: number | undefined;
  /** What the process reads. Default: nothing (stdin closed). */
  stdin?: string | Buffer | Readable | undefined;
  /**
   * Where stdout goes. Ended after a clean exit (code 0) only; after a failure it is left
   * open for the caller to abort. Default: captured into `stdout` of the result.
   */
  stdout?: Writable | undefined;
  /** Strings removed from stderr/stdout before they reach an error message (passwords). */
  secrets?: string[] | undefined;
  /** Kill the process after this many milliseconds. Default: no limit. */
  timeoutMs?: number | undefined;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Keep the tail of stderr only: a failing restore can print megabytes of errors. */
const stderrLimit = 64 * 1024;

/**
 * Runs a tool to completion. Never rejects because of the exit code (callers decide what a
 * failure means: an unreachable server, a refused restore); rejects with EnvironmentError
 * when the binary does not exist.
 */
export async function runTool(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnTool(command, args, options);
  return collect(child, command, options);
}

/** Like runTool, but a non-zero exit is an OperationError carrying the tool's message. */
export async function runToolOk(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await runTool(command, args, options);
  if (result.code !== 0) throw toolFailed(command, result);
  return result;
}

export function toolFailed(command: string, result: RunResult, what?: string): OperationError {
  const name = command.split('/').pop() ?? command;
  const status = result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
  return new OperationError(
    `${what ?? name} failed (${status}): ${firstLines(result.stderr || result.stdout)}`,
    {
      details: { tool: name, exitCode: result.code },
    },
  );
}

/** The first few meaningful lines of a tool's message, for error texts. */
export function firstLines(text: string, count = 3): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(0, count).join(' / ') || '(no message)';
}

function spawnTool(command: string, args: string[], options: RunOptions = {}): ChildProcess {
  const stdinIsData = typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin);
  const direct = isHeldForHandOver(options.stdin);
  const child = spawnBound(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    uid: options.uid,
    gid: options.gid,
    stdio: [
      direct ? (options.stdin as Readable) : options.stdin === undefined ? 'ignore' : 'pipe',
      'pipe',
      'pipe',
    ],
  });
  if (child.stdin) {
    // A tool that exits early (bad password) closes its stdin; that is reported by its exit code.
    child.stdin.on('error', () => undefined);
    if (stdinIsData) child.stdin.end(options.stdin as string | Buffer);
    else {
      const input = options.stdin as Readable;
      input.on('error', (error) => child.stdin?.destroy(error));
      input.pipe(child.stdin);
    }
  }
  return child;
}

async function collect(child: ChildProcess, command: string, options: RunOptions): Promise<RunResult> {
  const out: Buffer[] = [];
  let err = '';
  // end: false: the destination is ended only after a clean exit (see pipeProducer).
  if (options.stdout) child.stdout?.pipe(options.stdout, { end: false });
  else child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    if (err.length > stderrLimit * 2) err = err.slice(-stderrLimit);
  });
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('close', (exitCode: number | null, exitSignal: NodeJS.Signals | null) =>
        resolve([exitCode, exitSignal]),
      );
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'ENOENT' ? missingToolError(command, error) : error);
      });
    });
    if (options.stdout && code === 0 && options.stdout !== process.stdout) {
      // The child closed; wait until the destination has the data (a file on disk).
      const finished = once(options.stdout, 'finish');
      options.stdout.end();
      await finished;
    }
    return {
      code,
      signal,
      stdout: redact(Buffer.concat(out).toString('utf8'), options.secrets),
      stderr: redact(err.slice(-stderrLimit), options.secrets),
    };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Runs a producer and writes its standard output into `destination` (a file, restic's
 * stdin), ending it after a clean exit. When the producer fails, `destination` is left open
 * and an OperationError thrown: the caller must abort the consumer first (kill restic, which
 * would otherwise store the truncated stream as a good snapshot on EOF), then destroy it.
 */
export async function pipeProducer(
  producer: Producer,
  destination: Writable,
  options: Omit<RunOptions, 'stdout' | 'env'> = {},
): Promise<RunResult> {
  const result = await runTool(producer.command, producer.args, {
    ...options,
    env: producer.env,
    stdout: destination,
  });
  if (result.code !== 0)
    throw toolFailed(producer.command, result, `${producer.command} (producing the backup)`);
  return result;
}

/**
 * Runs `work` that consumes `input`, then releases `input` if it was not read to its end
 * (the work failed early, or a tool exited without reading everything): an open file or a
 * `restic dump` child must not outlive the restore.
 */
export async function consuming<T>(input: Readable, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    if (!input.readableEnded && !input.destroyed) input.destroy();
  }
}

export function redact(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const secret of secrets ?? []) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

/**
 * `spawn`, but the child is killed when Lifeboat dies, even by SIGKILL: a `restic dump` or
 * `pg_restore` left running after Lifeboat is gone keeps writing into a target nobody will
 * clean up or prove. On Linux the child is started through util-linux's `setpriv
 * --pdeathsig SIGKILL`, which asks the kernel to kill it when its parent exits and then execs
 * the tool (same pid, so signals, pipes and /proc counters are the tool's own). The kernel
 * ties that signal to the thread that spawned the child: Node spawns from its main thread
 * (Lifeboat runs no JavaScript on worker threads), which lives as long as the process.
 * Without setpriv the child is spawned as before.
 *
 * A command missing from PATH is spawned unwrapped, so that Node reports ENOENT for the tool
 * itself (and the caller names its package) rather than setpriv failing to exec it.
 */
export const spawnBound = spawnBoundWith('SIGKILL');

/**
 * spawnBound with another signal for the parent's death: a server that must take its own
 * children down (a postmaster, whose SIGQUIT is its immediate shutdown) needs a signal it
 * can act on. setpriv sets it after a `uid` switch, which would otherwise clear it.
 */
export function spawnBoundWith(signal: NodeJS.Signals): typeof spawn {
  return ((command: string, args: readonly string[], options: SpawnOptions): ChildProcess => {
    const wrapper = parentDeathWrapper();
    const path = wrapper === undefined ? undefined : onPath(command, options.env ?? process.env);
    if (wrapper === undefined || path === undefined) return spawn(command, args, options);
    return spawn(wrapper, ['--pdeathsig', signal, '--', path, ...args], options);
    // Typed as spawn so callers keep its stdio typing; always called with an argument list.
  }) as typeof spawn;
}

/** True when children started by spawnBound die with this process (Linux with setpriv). */
export function parentDeathBinds(): boolean {
  return parentDeathWrapper() !== undefined;
}

let wrapperChecked = false;
let wrapperPath: string | undefined;

/** setpriv, if it is there and knows --pdeathsig (util-linux 2.33+); looked up once. */
function parentDeathWrapper(): string | undefined {
  if (wrapperChecked) return wrapperPath;
  wrapperChecked = true;
  if (process.platform !== 'linux' || process.env.LIFEBOAT_NO_PDEATHSIG === '1') return undefined;
  const setpriv = onPath('setpriv', process.env);
  if (setpriv === undefined) return undefined;
  const probe = spawnSync(setpriv, ['--pdeathsig', 'SIGKILL', '--', 'true'], {
    stdio: 'ignore',
    timeout: 5000,
  });
  if (probe.status === 0) wrapperPath = setpriv;
  return wrapperPath;
}

/** The executable `command` names, as a shell would find it on PATH. */
function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : (env.PATH ?? process.env.PATH ?? '')
        .split(delimiter)
        .filter((d) => isAbsolute(d))
        .map((d) => join(d, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
