/**
 * Restoring `dump.rdb` into a directory so that the directory never holds a partial one under
 * that name: the RDB is written as `dump.rdb` inside `dump.rdb__lifeboat_restore_<id>/`, a
 * directory beside it (same filesystem, so the final rename is atomic), proven there, then
 * renamed over `dump.rdb`. The `dump.rdb` it replaces is first hard-linked as
 * `dump.rdb__lifeboat_replaced_<id>`, so that at every moment `dump.rdb` is the whole old file
 * or the whole new one, and the old one is kept. A failed or unproven restore removes the
 * staged directory; a killed one leaves it, and the next restore into the directory removes it.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { OperationError, RefusedError } from '../../errors.js';
import { REPLACED_MARK, STAGING_MARK, type Staging } from '../store.js';
import type { DirectoryTarget } from '../target.js';

const RDB = 'dump.rdb';

/** What a killed restore left in a directory: `dump.rdb__lifeboat_restore_<8 hex>`. */
const leftoverName = new RegExp(`^${RDB.replace('.', '\\.')}${STAGING_MARK}[0-9a-f]{8}$`);

export function isRdbLeftover(entry: string): boolean {
  return leftoverName.test(entry);
}

/**
 * The staged RDB of a restore under way, per target: the proof is asked for the target the
 * user named (`proveOn(spec)`), and must load the copy, not the file it would replace.
 */
const staged = new WeakMap<DirectoryTarget, string>();

/** The RDB a proof of `spec` loads: the staged copy while a restore is under way, else `dump.rdb`. */
export function rdbToProve(spec: DirectoryTarget): string {
  return staged.get(spec) ?? join(spec.path, RDB);
}

/**
 * Creates the staged directory (empty, ours alone) and returns its staging; the RDB goes into
 * `staging.target.path`.
 */
export function stageRdb(spec: DirectoryTarget, id: string, force: boolean): Staging {
  const dir = join(spec.path, `${RDB}${STAGING_MARK}${id}`);
  mkdirSync(dir, { mode: 0o700 });
  staged.set(spec, join(dir, RDB));
  const forget = () => staged.delete(spec);
  return {
    target: { kind: 'directory', path: dir },
    commit: async () => {
      try {
        return putInPlace(spec.path, dir, id, force);
      } finally {
        forget();
      }
    },
    discard: async () => {
      forget();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function putInPlace(path: string, dir: string, id: string, force: boolean): string[] {
  const copy = join(dir, RDB);
  const live = join(path, RDB);
  // On disk before it is named dump.rdb: a power loss after the rename must not leave it empty.
  syncPath(copy);
  const lines: string[] = [];
  if (!force) {
    // A link, unlike a rename, refuses to replace a dump.rdb that appeared meanwhile.
    const placed = linkOr(copy, live, () => {
      if (existsSync(live)) return false;
      renameSync(copy, live);
      return true;
    });
    if (!placed) {
      throw new RefusedError(`${live} appeared during the restore; a restore never overwrites a dump file`, {
        hint: 'move it away, or confirm with --force to have it kept aside and replaced',
      });
    }
  } else {
    if (existsSync(live)) {
      const aside = join(path, `${RDB}${REPLACED_MARK}${id}`);
      // Linked rather than renamed, so that dump.rdb never goes missing in between; where the
      // filesystem has no hard links, renamed: dump.rdb is then absent for one rename.
      linkOr(live, aside, () => (renameSync(live, aside), true));
      lines.push(
        `${live} was replaced; the one it held is kept as ${aside} (remove it once the restored one is trusted: rm ${shellQuote(aside)})`,
      );
    }
    renameSync(copy, live);
  }
  syncPath(path);
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

/**
 * `link(from, to)`; true when linked, false when `to` exists. Where hard links are not
 * supported, `otherwise` runs instead: it returns whether it made `to`.
 */
function linkOr(from: string, to: string, otherwise: () => boolean): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS')
      return otherwise();
    throw error;
  }
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function shellQuote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/** Staged directories that killed restores left in `spec.path`: removed, one line each. */
export function clearRdbLeftovers(spec: DirectoryTarget): string[] {
  if (!existsSync(spec.path)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(spec.path).filter(isRdbLeftover).sort()) {
    const path = join(spec.path, entry);
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      throw new OperationError(`could not remove ${path}, left by an interrupted restore`, {
        cause: error,
        hint: `remove it yourself (rm -r ${shellQuote(path)}) and restore again`,
      });
    }
    removed.push(`${path}, a partial dump.rdb an interrupted restore left`);
  }
  return removed;
}
