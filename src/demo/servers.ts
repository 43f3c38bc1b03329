/**
 * The demo's throwaway PostgreSQL, MariaDB and Redis, run by a process of their own
 * (server-process.ts) so that `--keep` can leave them running after the demo exits, and so
 * that they are stopped whenever the demo ends without `--keep`: done, failed, interrupted
 * or killed (the helper sees its stdin close).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../errors.js';
import { portIsClosed } from '../system/free-port.js';

export interface DemoServer {
  url: string;
  port: number;
  /** The server's data directory, in a temp dir removed when it stops. */
  dataDir: string;
}

/** What the helper reports, and keeps in its state file while it runs. */
export interface DemoServerInfo {
  /** The helper's pid: SIGTERM stops every server. */
  pid: number;
  startSeconds: number;
  postgres: DemoServer;
  mariadb: DemoServer;
  redis: DemoServer;
}

export interface DemoServers {
  info: DemoServerInfo;
  /** Leave the servers running after this process exits. */
  keep(): void;
  /** Stop every server and wait until their ports are closed. Safe to call more than once. */
  stop(): Promise<void>;
}

/** Starting three servers in parallel takes a few seconds; this is for an overloaded machine. */
const START_TIMEOUT_MS = 120_000;

/**
 * Starts the helper and waits for its servers. `stateFile` (in the demo dir) holds their
 * URLs and the helper's pid while they run: what `lifeboat demo --stop DIR` reads.
 */
export async function startDemoServers(stateFile: string, logFile: string): Promise<DemoServers> {
  const js = fileURLToPath(new URL('./server-process.js', import.meta.url));
  // Under tsx (tests of the sources) the helper is the .ts file, run with the same loader.
  const script = existsSync(js) ? js : js.replace(/\.js$/, '.ts');
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [...process.execArgv.filter((a) => !a.startsWith('--test')), script, stateFile],
      // detached: its own process group, so a Ctrl-C at the terminal reaches only the demo,
      // which then stops the servers in order.
      { detached: true, stdio: ['pipe', 'pipe', log] },
    );
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const message = await firstLine(child, START_TIMEOUT_MS);
  if (!message?.ready) {
    child.kill('SIGTERM');
    await exited;
    const reason = message?.error?.message ?? `the server helper exited: ${tail(logFile)}`;
    throw new EnvironmentError(`the demo could not start its throwaway servers: ${reason}`, {
      hint: message?.error?.hint ?? 'run `lifeboat doctor` to see which tool is missing',
    });
  }
  const info = message.ready;
  let stopping: Promise<void> | undefined;
  return {
    info,
    keep() {
      child.stdin?.end('keep\n');
      child.stdout?.destroy();
      child.unref();
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
        await waitPortsClosed(info);
      })();
      return stopping;
    },
  };
}

/**
 * `lifeboat demo --stop DIR`: stops the servers a `--keep` run left. Undefined when none run
 * (no state file, or its helper is gone).
 */
export async function stopDemoServers(stateFile: string): Promise<DemoServerInfo | undefined> {
  const info = runningDemoServers(stateFile);
  if (!info) return undefined;
  process.kill(info.pid, 'SIGTERM');
  for (let i = 0; i < 600 && alive(info.pid); i++) await sleep(50);
  await waitPortsClosed(info);
  return info;
}

/** The servers a `--keep` run left for this state file, if its helper still runs; a stale file is removed. */
export function runningDemoServers(stateFile: string): DemoServerInfo | undefined {
  if (!existsSync(stateFile)) return undefined;
  try {
    const info = JSON.parse(readFileSync(stateFile, 'utf8')) as DemoServerInfo;
    if (alive(info.pid)) return info;
  } catch {
    // Unreadable: treated as stale below.
  }
  rmSync(stateFile, { force: true });
  return undefined;
}

async function waitPortsClosed(info: DemoServerInfo): Promise<void> {
  for (const server of [info.postgres, info.mariadb, info.redis]) {
    for (let i = 0; i < 100 && !(await portIsClosed(server.port)); i++) await sleep(50);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface HelperMessage {
  ready?: DemoServerInfo;
  error?: { message: string; hint?: string };
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<HelperMessage | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (message: HelperMessage | undefined) => {
      clearTimeout(timer);
      lines.removeAllListeners();
      resolve(message);
    };
    lines.once('line', (line) => {
      try {
        finish(JSON.parse(line) as HelperMessage);
      } catch {
        finish({ error: { message: line } });
      }
    });
    child.once('exit', () => finish(undefined));
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' / ') || '(no output)';
  } catch {
    return '(no output)';
  }
}
