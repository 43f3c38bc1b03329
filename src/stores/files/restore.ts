/**
 * Restoring files so that no live path ever holds a partial restore: restic restores the
 * recovery point into a staged copy beside the target, on its file system (`staging.ts`);
 * the proof and the checks measure that copy; only a proven copy is put in place, path by
 * path, by renames (`commit.ts`), what it replaces kept in a replaced tree beside it. A failed
 * or unproven restore removes the copy (and the target directory, if this restore made it
 * and it is still empty); a killed one leaves it, and the next restore into the same target
 * removes it (`clearFilesLeftovers`).
 */
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { ensureDirectory } from '../directory.js';
import { shellQuote } from '../paths.js';
import type { PlannedUnit, RestoreIO } from '../store.js';
import { applyCommit, planCommit } from './commit.js';
import { commonRoot, liftToRoot, scratchOf } from './layout.js';
import { freeBytes, isNoSpace, noSpaceError } from './no-space.js';
import {
  checkSameFileSystem,
  clearStagedLeftovers,
  createStaging,
  placeFor,
  replacedPath,
  stagingPath,
  type StagingPlace,
} from './staging.js';
import type { FilesTarget } from './target.js';

export async function restoreFiles(spec: FilesTarget, io: RestoreIO): Promise<undefined> {
  const created = ensureDirectory(spec);
  const roots = spec.source ? datasetRoots(spec, io.units) : undefined;
  const place = placeOf(spec);
  if (roots) checkSameFileSystem(place, spec.roots ?? []);
  const staging = stagingPath(place, io.id);
  const replaced = replacedPath(place, io.id);
  // Into a directory, the paths land relative to their common root (`layout.ts`); over the
  // source, at their absolute paths, which the copy's top stands for.
  const root = spec.source ? undefined : commonRoot(backedUpPaths(io.units));
  io.stage({
    target: { kind: 'directory', path: staging, ...(root !== undefined ? { root } : {}) },
    async commit() {
      const steps = planCommit({
        staging,
        into: spec.path,
        replaced,
        dev: place.dev,
        ...(roots ? { roots } : {}),
      });
      const count = applyCommit(steps, replaced);
      rmSync(staging, { recursive: true, force: true });
      if (count === 0) return [];
      const where = spec.source ? 'of the live source' : `in ${spec.path}`;
      return [
        `${count} path(s) ${where} were replaced by restored ones; the ones they replaced are kept in ${replaced} (remove it once the restored files are trusted: rm -rf ${shellQuote(replaced)})`,
      ];
    },
    async discard() {
      rmSync(staging, { recursive: true, force: true });
      removeIfEmpty(created);
    },
  });

  const free = freeBytes(place.dir);
  const fail = (error: unknown, unit: PlannedUnit | undefined) =>
    isNoSpace(error)
      ? noSpaceError(error, {
          staging,
          fileSystemOf: place.dir,
          needed: unit?.bytes ?? 0,
          free,
        })
      : error;
  try {
    createStaging(place, io.id);
  } catch (error) {
    throw fail(error, io.units[0]);
  }
  for (const unit of io.units) {
    await io.unit(unit, async () => {
      try {
        if (root === undefined) await io.restorePaths(unit, staging);
        else {
          await io.restorePaths(unit, scratchOf(staging));
          liftToRoot(scratchOf(staging), root, staging);
        }
      } catch (error) {
        throw fail(error, unit);
      }
      return { bytes: unit.bytes };
    });
  }
  return undefined;
}

/**
 * The staged copies killed restores left beside this target. Over the source, beside each of
 * the dataset's paths: the first one holds the copy, and the plan's order may have changed.
 */
export function clearFilesLeftovers(spec: FilesTarget): string[] {
  const places = spec.source ? (spec.roots ?? []).map((root) => placeFor(root, false)) : [placeOf(spec)];
  const seen = new Set<string>();
  return places.flatMap((place) => {
    const key = `${place.dir}\0${place.base}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return clearStagedLeftovers(place);
  });
}

function placeOf(spec: FilesTarget): StagingPlace {
  if (!spec.source) return placeFor(spec.path, true);
  const [first] = spec.roots ?? [];
  // A target resolved before targets named their paths: beside the file system's top.
  return first === undefined ? placeFor('/', true) : placeFor(first, false);
}

/**
 * The dataset's paths, now and as the recovery point holds them (a unit's name is its paths
 * joined by commas): the directories above them are only the way to them.
 */
function datasetRoots(spec: FilesTarget, units: readonly PlannedUnit[]): string[] {
  return [...new Set([...(spec.roots ?? []), ...backedUpPaths(units)])];
}

/** The paths the recovery point holds: a unit's name is its paths joined by commas. */
function backedUpPaths(units: readonly PlannedUnit[]): string[] {
  return units.flatMap((unit) => unit.filename.split(',')).filter((p) => p.startsWith('/'));
}

/** The directories this restore made for its target, removed again while nothing is in them. */
function removeIfEmpty(created: readonly string[]): void {
  for (const dir of [...created].reverse()) {
    try {
      if (readdirSync(dir).length > 0) return;
      rmdirSync(dir);
    } catch {
      return;
    }
  }
}
