/**
 * Directories and files only their owner may read: Lifeboat's home holds the state store
 * (which names hosts, users and paths), repository keys and locks. The mode is set whatever
 * the umask, and tightened when an existing one is looser. Here because the state store is
 * the lowest layer that needs it.
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { EnvironmentError } from '../errors.js';

/** Creates `dir` (and missing parents) mode 0700, or tightens it to 0700 if it exists looser. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    tighten(dir, 0o700);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new EnvironmentError(`cannot create the private directory ${dir}: ${code}`, {
      cause: error,
      details: { path: dir, code },
      hint:
        code === 'ENOSPC'
          ? `free space on the file system that holds ${dir}, then retry`
          : `check that ${dir} can be created and is owned by this user`,
    });
  }
}

/** Creates `file` empty, mode 0600, when it does not exist; tightens it to 0600 when it does. */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  tighten(file, 0o600);
}

/** Tightens an existing file or directory to `mode` if others (or its group) may read it. */
export function tightenIfExists(path: string, mode: number): void {
  try {
    lstatSync(path);
  } catch {
    return;
  }
  tighten(path, mode);
}

function tighten(path: string, mode: number): void {
  const current = statSync(path);
  // Not ours (a shared directory, root's file seen by a user): leave it to its owner.
  if (process.getuid && current.uid !== process.getuid()) return;
  // A sticky directory (/tmp) is shared by design, even when it is root's and we are root.
  if ((current.mode & 0o1000) !== 0) return;
  if ((current.mode & 0o077) !== 0) chmodSync(path, mode);
}
