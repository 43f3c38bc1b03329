/** Small helpers shared by the restic tests. */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** A producer of `bytes` pseudo-random bytes that are the same on every run (AES-CTR of zeros). */
export function repeatableBytes(
  bytes: number,
  seed = '6c696665626f61742d746573742d3031',
): { command: string; args: string[] } {
  return {
    command: 'sh',
    args: [
      '-c',
      `openssl enc -aes-128-ctr -K ${seed} -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null | head -c ${bytes}`,
    ],
  };
}

/**
 * A producer that writes `bytes` and then stalls for 30 s, for tests that interrupt a
 * backup mid-way. restic reports progress per chunk, and cuts a chunk at the latest
 * after 8 MiB: write more than that for progress to show.
 */
export function stallingBytes(bytes = 10 * 1024 * 1024): { command: string; args: string[] } {
  const { args } = repeatableBytes(bytes);
  return { command: 'sh', args: ['-c', `${args[1]}; exec sleep 30`] };
}

export async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The sha256 of what a command prints. */
export async function sha256OfCommand(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return sha256Of(child.stdout);
}

/** Runs restic directly, as a user would, against a repository. */
export function rawRestic(
  resticPath: string,
  env: Record<string, string>,
  args: string[],
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(resticPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    input: input ?? '',
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Pids of the live children of `parent` whose command line holds `needle` (Linux /proc). */
export function childPids(parent: number, needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
