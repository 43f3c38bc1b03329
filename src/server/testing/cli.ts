/**
 * The built CLI run as a user runs it, for the server's tests. The server may not import
 * cli/ (its testing helpers included), so these few lines stand on their own.
 */
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStateStore } from '../../state/store.js';

const BIN = fileURLToPath(new URL('../../../bin/lifeboat.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

export interface Server {
  pid: number;
  stdout: string[];
  /** The exit code, or null when killed by a signal. */
  exited: Promise<number | null>;
}

/** A long-running command (`lifeboat up`); its stdout collected line by line. */
export function spawnCli(args: string[]): Server {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stdout: string[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    stdout.push(...lines);
  });
  return { pid: child.pid!, stdout, exited: new Promise((resolve) => child.on('close', resolve)) };
}

/** The newest audit entry of `action` in the state store beside the plan. */
export async function newestAudit(planFile: string, action: string) {
  const store = await openStateStore({ path: join(dirname(planFile), '.lifeboat', 'state.db'), env: {} });
  try {
    return (await store.listAudit({ action, limit: 1 }))[0];
  } finally {
    await store.close();
  }
}

/** Polls `probe` until it gives a value (a throw counts as none yet), or fails naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
