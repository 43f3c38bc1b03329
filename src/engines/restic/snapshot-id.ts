/**
 * A snapshot's full id without asking restic, for a repository on the local file system:
 * restic names each snapshot's file by its id (the repository format), and reading the
 * directory needs no key, so it spares a command that would spend most of a second deriving
 * one. Undefined when that is not possible; then restic is asked.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function localSnapshotId(url: string, shortId: string): string | undefined {
  const dir = localRepositoryPath(url);
  if (dir === undefined) return undefined;
  try {
    const found = readdirSync(join(dir, 'snapshots')).filter((name) => name.startsWith(shortId));
    return found.length === 1 && /^[0-9a-f]{64}$/.test(found[0]!) ? found[0] : undefined;
  } catch {
    return undefined; // not laid out as expected
  }
}

/** The directory of a repository on the local file system (a plain path or `local:PATH`), else undefined. */
function localRepositoryPath(url: string): string | undefined {
  if (url.startsWith('local:')) return resolve(url.slice('local:'.length));
  return /^[a-z][a-z0-9]*:/i.test(url) ? undefined : resolve(url);
}
