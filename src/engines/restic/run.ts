/**
 * Spawning restic (and the producers that feed it) and collecting what it says. No
 * knowledge of restic's commands here: see repository.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnBound } from '../../system/tool.js';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Keeps the last `limit` characters of a stream of text. */
export class TextTail {
  private text = '';
  constructor(private readonly limit = 16_384) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * this.limit) this.text = this.text.slice(-this.limit);
  }
  toString(): string {
    return this.text.slice(-this.limit);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the child has exited and its stdio has closed. */
export function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    // A command that cannot be started emits 'error' (and, depending on the Node version, 'close').
    child.on('error', () => {
      if (child.pid === undefined) resolve({ code: 127, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Like `exitOf`, but for a process whose stdio may be held open by its own children (a
 * shell script that started a `sleep`): after the process exits, its stdio gets
 * `graceMs` to close (so that the last stderr lines are read), then is closed by us.
 */
export function exitOfProcess(child: ChildProcess, graceMs = 2000): Promise<Exit> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    child.on('error', () => {
      if (child.pid === undefined) resolve({ code: 127, signal: null });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
    child.once('exit', (code, signal) => {
      timer = setTimeout(() => {
        for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
        resolve({ code, signal });
      }, graceMs);
    });
  });
}

/** Calls `onLine` for each line of `stream` (which must be in text-safe chunks: restic's stdout). */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Called with each stdout line; stdout is then not collected. */
  onStdoutLine?: (line: string) => void;
  /** On abort, restic gets SIGINT, on which it removes its lock and exits. */
  signal?: AbortSignal;
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting stdout (unless streamed by line) and the tail of stderr. */
export async function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const child = spawnBound(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = exitOf(child);
  const stderr = new TextTail();
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  let stdout = '';
  if (options.onStdoutLine) eachLine(child.stdout!, options.onStdoutLine);
  else child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const onAbort = () => child.kill('SIGINT');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await exited;
    return { ...exit, stdout, stderr: stderr.toString() };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
