/**
 * Files restore into a directory, each path at `DIR/<path relative to the paths' common root>`
 * (`layout.ts`), or over the live
 * files (`--to source`). A directory target must not land on the live files: `--to /` would be
 * the source itself, and restoring over the live files is `--to source`, which always asks.
 */
import { resolve } from 'node:path';
import { commonRoot, placeIn } from './layout.js';
import { RefusedError } from '../../errors.js';
import { canonical, isInside } from '../paths.js';
import type { DirectoryTarget, TargetInput } from '../target.js';

/**
 * A files target. Over the live source it names the dataset's paths (as restic saw them): the
 * copy is staged beside them, and a killed restore's leftovers are looked for there.
 */
export type FilesTarget = DirectoryTarget & { roots?: string[] };

export function resolveFilesTarget(input: TargetInput<{ paths: string[] }>): FilesTarget {
  if (input.isSource) {
    const roots = input.config.paths.map((p) => resolve(input.planDir, p));
    return { kind: 'directory', path: '/', source: true, roots };
  }
  const target = input.directory();
  const dir = target.path;
  const live = input.config.paths.map((p) => canonical(resolve(input.planDir, p)));
  const root = commonRoot(live);
  for (const path of live) {
    const landing = placeIn(dir, root, path);
    const hit = live.find((l) => isInside(dir, l) || isInside(landing, l) || isInside(l, landing));
    if (hit) {
      throw new RefusedError(
        `--to ${dir} would put restored files inside the live source path ${hit} of dataset '${input.dataset}'`,
        {
          hint: 'restore into a directory outside the source paths, or over the live files with --to source --force',
          details: { target: dir, sourcePath: hit },
        },
      );
    }
  }
  return target;
}
