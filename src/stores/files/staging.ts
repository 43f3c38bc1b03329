/**
 * Where a files restore stages its copy, and where it keeps what the copy replaces: beside
 * the place the copy is renamed into, on the same file system, since rename(2) cannot cross
 * file systems and a copy staged elsewhere could only be copied in, file by file, exposed
 * half-written. Beside a directory target DIR: `<DIR>__lifeboat_restore_<id>` and
 * `<DIR>__lifeboat_replaced_<id>`; beside the first path of the dataset when it is restored
 * over its source. A target directory that is a mount point, or whose parent this user may
 * not write, holds them itself.
 *
 * The staged copy is private (0700: restic restores files of every owner into it) and holds
 * a record of the process writing it, so that a later restore removes the copies of killed
 * restores and never the one another restore is still writing.
 */
import {
  accessSync,
  constants,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OperationError, UsageError } from '../../errors.js';
import { processStartTime, sameProcessRuns } from '../../system/process.js';
import { canonical, nearestExisting } from '../paths.js';
import { REPLACED_MARK, STAGING_MARK } from '../store.js';

/** The directory that holds a staged copy and its replaced tree, and their common name. */
export interface StagingPlace {
  dir: string;
  /** The base name of what is restored into: both trees are named after it. */
  base: string;
  /** The file system (`st_dev`) of `dir`. */
  dev: number;
}

/**
 * Where the copy for `path` is staged. `path` is a directory target (followed when it is a
 * symbolic link: the files go where it points) or a path of the dataset (an entry the
 * restore replaces, so a link is not followed). Reads the file system; writes nothing.
 */
export function placeFor(path: string, follow: boolean): StagingPlace {
  const base = basename(path) || 'root';
  const real = follow ? canonical(path) : join(canonical(dirname(path)), base);
  const existing = nearestExisting(real);
  const info = lstatSync(existing);
  // A mount point: its parent is another file system, so the copy goes inside it. So it does
  // inside a target directory whose parent this user may not write (a restore into /srv/restore
  // that root prepared): the target itself is writable, and on its own file system.
  const inside =
    existing === real &&
    info.isDirectory() &&
    real !== '/' &&
    (statSync(dirname(real)).dev !== info.dev || (follow && !writable(dirname(real))));
  const dir = inside ? real : existing === real ? dirname(real) : existing;
  return { dir, base, dev: statSync(dir).dev };
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const stagingPath = (place: StagingPlace, id: string) =>
  join(place.dir, place.base + STAGING_MARK + id);
export const replacedPath = (place: StagingPlace, id: string) =>
  join(place.dir, place.base + REPLACED_MARK + id);

/** The record of the process writing a staged copy; at its top, where no restored path can be. */
const OWNER = `${STAGING_MARK}owner.json`;

/** True for the staged copy's own record, which is never put in place. */
export const isOwnerRecord = (name: string) => name === OWNER;

/** Creates the staged copy's directory (private) with the record of this process. */
export function createStaging(place: StagingPlace, id: string): string {
  const dir = stagingPath(place, id);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, OWNER), JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }));
  return dir;
}

/**
 * The staged copies of killed restores beside `place` (named after its base, any id), removed.
 * A copy whose writer still runs is another restore's, and is left. The replaced trees are
 * the user's old files: never touched here.
 */
export function clearStagedLeftovers(place: StagingPlace): string[] {
  const pattern = new RegExp(`^${escapeRegExp(place.base + STAGING_MARK)}[0-9a-f]{8}$`);
  const removed: string[] = [];
  for (const name of readdirSync(place.dir)) {
    if (!pattern.test(name)) continue;
    const path = join(place.dir, name);
    if (!lstatSync(path).isDirectory() || writerRuns(path)) continue;
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      throw new OperationError(`could not remove ${path}, left by an interrupted restore`, {
        cause: error,
        hint: `remove it yourself (rm -rf ${path}) and restore again`,
      });
    }
    removed.push(`directory ${path}, a partial copy an interrupted restore left`);
  }
  return removed;
}

function writerRuns(staging: string): boolean {
  try {
    const { pid, start } = JSON.parse(readFileSync(join(staging, OWNER), 'utf8')) as {
      pid: number;
      start?: number;
    };
    return pid !== process.pid && sameProcessRuns(pid, start);
  } catch {
    // No record: killed before it was written.
    return false;
  }
}

/**
 * Every path of a restore over the source must be on the file system of the staged copy,
 * or it could not be renamed into place: refused before anything is written.
 */
export function checkSameFileSystem(place: StagingPlace, roots: readonly string[]): void {
  const elsewhere = roots.filter((root) => lstatSync(nearestExisting(root)).dev !== place.dev);
  if (elsewhere.length === 0) return;
  throw new UsageError(
    `the paths of this dataset are on more than one file system (${elsewhere.join(', ')} not on the one of ${place.dir}): a restore over the source stages its copy on one file system and renames it into place, which cannot cross file systems`,
    {
      hint: 'restore into a directory (--to DIR) and move the files over yourself, or give each file system its own dataset',
    },
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
