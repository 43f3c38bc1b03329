/**
 * Directories and files only their owner may read: Lifeboat's home holds the state store
 * (which names hosts, users and paths), repository keys and locks. The mode is set whatever
 * the umask, and tightened when an existing one is looser. Here because the state store is
 * the lowest layer that needs it.
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';

/** Creates `dir` (and missing parents) mode 0700, or tightens it to 0700 if it exists looser. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Passage given to another OS user who owns something inside (allowPassage) stays: it lets
    // nobody list or read, and taking it away would lock that user out between our commands.
    tighten(dir, 0o700, holdsOthersFiles(dir) ? PASSAGE : 0);
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

/** Search (x) for group and others: they may reach a path they know inside, never list or read. */
const PASSAGE = 0o011;

/**
 * Lets other OS users pass through `dir` to a path inside that they own (pgBackRest, run as
 * PostgreSQL's user, reaches its directory under Lifeboat's home): adds search permission
 * only, never read. Made private first when it does not exist; left alone when it is not ours.
 */
export function allowPassage(dir: string): void {
  ensurePrivateDir(dir);
  const current = statSync(dir);
  if (process.getuid && current.uid !== process.getuid()) return;
  if ((current.mode & PASSAGE) !== PASSAGE) chmodSync(dir, (current.mode & 0o7777) | PASSAGE);
}

function holdsOthersFiles(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return false;
  return readdirSync(dir).some((name) => {
    try {
      return lstatSync(join(dir, name)).uid !== uid;
    } catch {
      return false;
    }
  });
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

function tighten(path: string, mode: number, keep = 0): void {
  const current = statSync(path);
  // Not ours (a shared directory, root's file seen by a user): leave it to its owner.
  if (process.getuid && current.uid !== process.getuid()) return;
  // A sticky directory (/tmp) is shared by design, even when it is root's and we are root.
  if ((current.mode & 0o1000) !== 0) return;
  const allowed = mode | keep;
  if ((current.mode & 0o777 & ~allowed) !== 0) chmodSync(path, mode | (current.mode & keep));
}
