/**
 * Where a files restore into a directory puts each of the dataset's paths: beneath the
 * directory, relative to the paths' common root, so that `--to DIR` of a dataset backing up
 * /home/app/data gives DIR/data/... rather than DIR/home/app/data/...
 *
 * The common root is the deepest directory above every path, so paths of one parent land at
 * DIR/<basename>; paths of different parents keep what sets them apart (/srv/a/data and
 * /var/b/data land at DIR/srv/a/data and DIR/var/b/data). Two paths never land on one place,
 * and nothing is refused: a name taken twice keeps the directories that tell them apart.
 *
 * restic (0.14, which Lifeboat supports) restores only whole trees (`DIR/<absolute path>`), so
 * the copy is restored into a scratch tree inside the staged copy and its common root's
 * entries renamed up, on the same file system: no byte is copied twice.
 */
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { STAGING_MARK } from '../store.js';

/** The deepest directory above every one of `paths` (absolute). */
export function commonRoot(paths: readonly string[]): string {
  const parents = paths.map((p) => dirname(p).split(sep).filter(Boolean));
  if (parents.length === 0) return '/';
  const first = parents[0]!;
  let depth = 0;
  while (depth < first.length && parents.every((p) => p[depth] === first[depth])) depth += 1;
  return '/' + first.slice(0, depth).join('/');
}

/** Where `path` of the dataset is in a directory that holds the dataset relative to `root`. */
export function placeIn(dir: string, root: string, path: string): string {
  return join(dir, relative(root, path));
}

/** The scratch tree restic restores into, at the staged copy's top (beside its owner record). */
export const scratchOf = (staging: string) => join(staging, `${STAGING_MARK}tree`);

/**
 * Moves the entries of `scratch/<root>` to the top of `staging`, then removes the scratch
 * tree (what is left in it is only the directories above the root).
 */
export function liftToRoot(scratch: string, root: string, staging: string): void {
  const top = join(scratch, root);
  let names: string[];
  try {
    names = readdirSync(top);
  } catch (error) {
    // Nothing was restored below the root (an --include that matched nothing).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    names = [];
  }
  for (const name of names) renameSync(join(top, name), join(staging, name));
  rmSync(scratch, { recursive: true, force: true });
}
