/**
 * The built CLI as a long-running child in its own process group, for tests that kill it
 * (SIGKILL of the whole group, as a host crash kills node and the tools it runs) or that
 * run two at once. Lines of stdout and stderr are collected as they come.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { BIN } from './run-cli.js';

export interface CliProcess {
  /** Also the process group's id. */
  pid: number;
  stdout: string[];
  stderr: string[];
  /** The exit code, or null when killed by a signal. */
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    detached: true,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: CliProcess = {
    pid: child.pid!,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
  };
  const collect = (stream: NodeJS.ReadableStream, into: string[]) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        into.push(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
  };
  collect(child.stdout, result.stdout);
  collect(child.stderr, result.stderr);
  return result;
}

/** Waits until a line of `stream` matches, or fails with what the process said. */
export async function waitForLine(
  child: CliProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    const line = child[stream].find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (exited || Date.now() > deadline) {
      throw new Error(
        `no ${stream} line matched ${pattern} (${exited ? 'the process exited' : 'timed out'}); stdout:\n${child.stdout.join('\n')}\nstderr:\n${child.stderr.join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live (not zombie) processes of a process group, with their command names. */
export function groupMembers(pgid: number): { pid: number; name: string }[] {
  const members: { pid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push({ pid: Number(entry), name });
    } catch {
      // exited meanwhile
    }
  }
  return members;
}

/** SIGKILLs the whole group and waits until none of it is left; throws naming what survived. */
export async function killGroup(child: CliProcess): Promise<void> {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await child.exited;
  const deadline = Date.now() + 5000;
  while (groupMembers(child.pid).length > 0) {
    if (Date.now() > deadline)
      throw new Error(
        `orphans of the killed group: ${groupMembers(child.pid)
          .map((m) => `${m.name} (${m.pid})`)
          .join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Live processes anywhere on the host whose environment holds `name=value`: what a child
 * started outside its process group (a daemon, a detached server) that outlived it.
 */
export function processesWithEnv(name: string, value: string): { pid: number; name: string }[] {
  const found: { pid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`${name}=${value}`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}
