/**
 * Temporary directories only their owner can read, that do not outlive their process for
 * long: each is made under one Lifeboat-owned root per user (mode 0700), named after the
 * process that made it, and `reapStaleTempDirs` removes those whose process is gone (killed
 * by SIGKILL, the OOM killer, a power loss), which no exit handler could clean.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { processStartTime, sameProcessRuns } from './process.js';

/** `<tmpdir>/lifeboat-<uid>`: per user, so that no user can plant or read another's files. */
export function privateTempRoot(): string {
  return join(tmpdir(), `lifeboat-${process.getuid?.() ?? 'user'}`);
}

function ensureRoot(): string {
  const root = privateTempRoot();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const stat = lstatSync(root);
  // In a shared /tmp another user may have made the name first, or made it a symlink.
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw new EnvironmentError(`${root} is not a private directory of this user`, {
      details: { path: root },
      hint: `remove ${root} (or set TMPDIR to a directory of your own), then retry`,
    });
  }
  return root;
}

/**
 * A new directory, mode 0700, named `<prefix><pid>.<start>-XXXXXX`; the caller removes it when
 * done (reapStaleTempDirs removes it if the process dies first).
 */
export function privateTempDir(prefix: string): string {
  if (!/^[a-z0-9-]*$/i.test(prefix)) throw new Error(`privateTempDir: invalid prefix ${prefix}`);
  return mkdtempSync(join(ensureRoot(), `${prefix}${process.pid}.${processStartTime(process.pid) ?? '0'}-`));
}

/** Removes the directories whose process no longer runs; returns their paths. Never throws. */
export function reapStaleTempDirs(): string[] {
  const root = privateTempRoot();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = /(\d+)\.(\d+)-[^-]+$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || sameProcessRuns(pid, match[2] === '0' ? undefined : match[2])) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
      removed.push(join(root, name));
    } catch {
      // Another process reaping at the same time, or a file we may not remove: left for later.
    }
  }
  return removed;
}
