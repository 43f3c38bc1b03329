/**
 * Running the plan's fence command: a shell command that stops the old primary from outside
 * its host (a cloud API, a power switch). Its timeout must hold even when the command's own
 * children hang (a `curl` with no timeout of its own), so it runs in a process group of its
 * own, and the whole group is killed when time is up.
 */
import { spawn } from 'node:child_process';
import { fillTarget, type RouteTarget } from './route.js';

export interface FenceRun {
  /** The exit code; null when it was killed. */
  code: number | null;
  timedOut: boolean;
  /** The first of its output, for messages. */
  output: string;
}

const outputLimit = 16 * 1024;

/** `{{dataset}}` first, then the address placeholders the `command` traffic switch knows. */
export function fillFenceCommand(command: string, target: RouteTarget, dataset: string): string {
  return fillTarget(
    command.replace(/\{\{\s*dataset\s*\}\}/g, () => fillTarget('{{name}}', { ...target, name: dataset })),
    target,
  );
}

/** Runs `command` with `sh -c`, killing it and everything it started after `timeoutMs`. */
export function runFenceCommand(command: string, timeoutMs: number): Promise<FenceRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < outputLimit) output += chunk.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'exit', not 'close': a child it left in the background may hold its output open for ever.
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (timedOut) killGroup(child.pid);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code: timedOut ? null : code, timedOut, output });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}
