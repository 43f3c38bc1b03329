/**
 * Putting a proven staged copy of files in place, with the semantics a restore into an
 * existing tree always had: a path the copy holds replaces the live one, live paths it does
 * not hold are kept. Planned first (`planCommit` reads both trees and changes nothing), then
 * applied (`applyCommit`), so that a copy that cannot be put in place (a path on another
 * file system) is refused before the first rename.
 *
 * Every change is a rename(2) within one file system: a reader of a live path sees the old
 * file or the new one, whole, never a file being written. A path that is not there is
 * renamed in (a new directory with all it holds, at once). A live file the copy replaces is
 * first hard-linked into the replaced tree, then the copy renamed over it, so that the path
 * never goes missing; where a hard link cannot be made (or a directory is involved) it is
 * renamed aside first, leaving the path missing for the moment between two renames. A
 * directory both trees hold is merged, then takes the mode, owner and times restic restored.
 *
 * The window that remains: a restore killed between two renames leaves some live paths
 * swapped and the rest not yet. Nothing is lost: the replaced tree holds every live file
 * swapped out so far, and the next restore removes the rest of the staged copy and restores
 * again. A failure (not a kill) while applying puts back what was done, in reverse order.
 */
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { OperationError } from '../../errors.js';
import { isInside } from '../paths.js';
import { isOwnerRecord } from './staging.js';

export type CommitStep =
  /** Nothing is at `to`: the staged entry is renamed there. */
  | { kind: 'place'; from: string; to: string }
  /** `to` is kept at `aside`, then the staged entry renamed over it. */
  | { kind: 'replace'; from: string; to: string; aside: string }
  /** Both are directories, `to`'s entries merged already: it takes `from`'s mode, owner and times. */
  | { kind: 'directory'; from: string; to: string };

export interface CommitInput {
  /** The staged copy: restic's tree, `<staging>/<absolute source path>`. */
  staging: string;
  /** The live directory the staged copy's top stands for: the directory target, or `/`. */
  into: string;
  /** Where replaced live paths are kept, in the same layout. */
  replaced: string;
  /** The file system of the staged copy: every rename stays on it. */
  dev: number;
  /**
   * Over the source: the dataset's paths. The directories above them are not the dataset's:
   * they are followed (a link such as /srv → /data/srv stays a link) and keep their modes.
   */
  roots?: readonly string[];
}

/** Reads the staged and the live trees; changes nothing. Throws when a path cannot be renamed into place. */
export function planCommit(input: CommitInput): CommitStep[] {
  const steps: CommitStep[] = [];
  const elsewhere: string[] = [];
  const walk = (from: string, to: string, aside: string) => {
    const top = from === input.staging;
    // Checked only where something is renamed in: `/` above the dataset's paths may be another file system.
    let dev: number | undefined;
    const onOurs = (path: string) => {
      dev ??= statSync(to).dev;
      if (dev !== input.dev) elsewhere.push(path);
    };
    for (const name of readdirSync(from).sort()) {
      if (top && isOwnerRecord(name)) continue;
      const entry = { from: join(from, name), to: join(to, name), aside: join(aside, name) };
      const staged = lstatSync(entry.from);
      if (aboveRoot(entry.to) && staged.isDirectory()) {
        const live = followed(entry.to);
        if (live === undefined) {
          onOurs(entry.to);
          steps.push({ kind: 'place', from: entry.from, to: entry.to });
        } else if (live.isDirectory()) walk(entry.from, entry.to, entry.aside);
        else
          throw new OperationError(`${entry.to} is not a directory, but the restored paths are inside it`, {
            hint: `make ${entry.to} the directory it was, then restore again`,
          });
        continue;
      }
      const live = lstatOrUndefined(entry.to);
      if (live === undefined) {
        onOurs(entry.to);
        steps.push({ kind: 'place', from: entry.from, to: entry.to });
      } else if (staged.isDirectory() && live.isDirectory()) {
        walk(entry.from, entry.to, entry.aside);
        steps.push({ kind: 'directory', from: entry.from, to: entry.to });
      } else {
        if (live.dev !== input.dev) elsewhere.push(entry.to);
        else onOurs(entry.to);
        steps.push({ kind: 'replace', ...entry });
      }
    }
  };
  const aboveRoot = (path: string) =>
    input.roots !== undefined && input.roots.some((root) => root !== path && isInside(root, path));
  walk(input.staging, input.into, input.replaced);
  if (elsewhere.length > 0) {
    throw new OperationError(
      `${elsewhere.slice(0, 3).join(', ')}${elsewhere.length > 3 ? ` and ${elsewhere.length - 3} more` : ''} ${elsewhere.length === 1 ? 'is' : 'are'} on another file system than the restored copy, which cannot be renamed there`,
      {
        hint: 'restore into a directory on one file system (--to DIR), and move what belongs on the other yourself',
        details: { paths: elsewhere },
      },
    );
  }
  return steps;
}

/** What a step changed, to put it back. */
type Done = CommitStep & { before?: Stats; linked?: boolean };

/**
 * Applies the steps in order; returns how many live paths were replaced (kept in the
 * replaced tree). On a failure, puts back what was done and throws; when even that fails,
 * the error says where everything is.
 */
export function applyCommit(steps: readonly CommitStep[], replaced: string): number {
  const done: Done[] = [];
  try {
    for (const step of steps) done.push(apply(step));
  } catch (error) {
    const undone = undo(done);
    if (undone === undefined) removeEmptyDirectories(replaced);
    throw new OperationError(
      undone === undefined
        ? `putting the restored files in place failed at a rename, and was undone: ${(error as Error).message}`
        : `putting the restored files in place failed (${(error as Error).message}) and could not be undone (${undone.message}): some live paths hold restored files, every file they replaced is kept in ${replaced}`,
      {
        cause: error,
        hint:
          undone === undefined
            ? 'nothing was replaced; fix the cause and restore again'
            : `compare the live paths with ${replaced}, then restore again`,
      },
    );
  }
  return done.filter((d) => d.kind === 'replace').length;
}

function apply(step: CommitStep): Done {
  switch (step.kind) {
    case 'place':
      // Made here since the plan: it is kept like any replaced path, not renamed over.
      if (lstatOrUndefined(step.to) !== undefined)
        throw new OperationError(`${step.to} appeared while the restored files were put in place`, {
          hint: 'stop what writes there, then restore again',
        });
      renameSync(step.from, step.to);
      return step;
    case 'replace': {
      mkdirSync(dirname(step.aside), { recursive: true, mode: 0o700 });
      const live = lstatSync(step.to);
      if (!live.isDirectory() && !lstatSync(step.from).isDirectory()) {
        try {
          linkSync(step.to, step.aside);
        } catch {
          // No hard link here (a file system without them, a limit): renamed aside instead.
          renameSync(step.to, step.aside);
          renameSync(step.from, step.to);
          return step;
        }
        renameSync(step.from, step.to);
        return { ...step, linked: true };
      }
      renameSync(step.to, step.aside);
      renameSync(step.from, step.to);
      return step;
    }
    case 'directory': {
      const before = lstatSync(step.to);
      copyDirectoryAttributes(lstatSync(step.from), step.to);
      return { ...step, before };
    }
  }
}

/** Puts back what `done` changed, last first; the error that stopped it, or undefined. */
function undo(done: Done[]): Error | undefined {
  try {
    for (const step of [...done].reverse()) {
      if (step.kind === 'place') renameSync(step.to, step.from);
      else if (step.kind === 'replace') {
        renameSync(step.to, step.from);
        renameSync(step.aside, step.to);
      } else if (step.before) copyDirectoryAttributes(step.before, step.to);
    }
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/** The directories made for the replaced tree, once undone: they hold nothing, and are removed only if so. */
function removeEmptyDirectories(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) removeEmptyDirectories(path);
  }
  try {
    rmdirSync(dir);
  } catch {
    // Not empty: something is kept there after all.
  }
}

function copyDirectoryAttributes(from: Stats, to: string): void {
  // Only root may give a file away, and restic restores owners only when run as root.
  if (process.getuid?.() === 0) chownSync(to, from.uid, from.gid);
  chmodSync(to, from.mode & 0o7777);
  utimesSync(to, from.atime, from.mtime);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function followed(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
