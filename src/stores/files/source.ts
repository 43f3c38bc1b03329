/**
 * Files and directories: restic reads them itself (`restic backup PATHS --exclude ...`), so
 * it dedups file by file and a restore can pick single files. `units()` hands the paths
 * over; restic restores them under `<target>/<absolute path>`, or relative to their common
 * root (`layout.ts`), which is where `fingerprintOf` looks.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { EnvironmentError, UsageError } from '../../errors.js';
import { excluded } from './exclude.js';
import { newFingerprint, type Fingerprint } from '../fingerprint.js';
import type { BackupUnit, RestoreTarget, Source, SourceContext, KindConfig } from '../store.js';

/** What the dump needs of the plan's source (its secrets already resolved by the caller). */
export type FilesSourceConfig = Pick<KindConfig<'files'>, 'type' | 'paths' | 'exclude'>;

/** Up to this many files per path, the fingerprint names each file, so a difference says which. */
const perFileLimit = 1000;

export function filesSource(config: FilesSourceConfig, context: SourceContext): Source {
  const paths = config.paths.map((p) =>
    isAbsolute(p) ? resolve(p) : resolve(context.baseDir ?? process.cwd(), p),
  );
  const exclude = config.exclude ?? [];
  return {
    type: 'files',

    async check() {
      for (const path of paths) {
        await lstat(path).catch((error: NodeJS.ErrnoException) => {
          throw new EnvironmentError(`${path} cannot be read: ${error.code ?? error.message}`, {
            hint: 'Check the path in the plan (relative paths start at the plan file) and that Lifeboat may read it.',
            cause: error,
            details: { path },
          });
        });
      }
    },

    async units(): Promise<BackupUnit[]> {
      return [{ kind: 'paths', paths, exclude, description: `${paths.length} path(s)` }];
    },

    fingerprint: () => measure(paths, (path) => path, exclude),

    async restoreUnit(_filename: string, _input: Readable, _target: RestoreTarget) {
      throw new UsageError(
        'files are restored by restic itself (restic restore --target DIR), not from a stream',
      );
    },

    async fingerprintOf(target: RestoreTarget) {
      if (target.kind !== 'directory')
        throw new UsageError('restored files are measured in a directory target');
      const root = target.root ?? '/';
      return measure(paths, (path) => join(target.path, relative(root, path)), exclude);
    },
  };
}

interface Entry {
  /** Path relative to the configured path ('' for the path itself). */
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
  bytes: number;
  /** sha256 of the content, or of the link target. */
  hash: string;
}

/**
 * Per configured path: counts of files, directories and symlinks, total bytes, and a tree
 * hash over every entry's relative path, kind, size and sha256; per file as well when a
 * path holds at most 1000 files. Reads every byte once. Ownership, modes and times are
 * left out: a restore by another user legitimately changes them.
 */
async function measure(
  paths: string[],
  locate: (path: string) => string,
  exclude: string[],
): Promise<Fingerprint> {
  const fingerprint = newFingerprint('files');
  for (const path of paths) {
    const entries: Entry[] = [];
    await walk(locate(path), '', path, exclude, entries);
    entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    const tree = createHash('sha256');
    const totals = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
    for (const entry of entries) {
      tree.update(`${entry.kind}\0${entry.rel}\0${entry.bytes}\0${entry.hash}\n`);
      totals[entry.kind === 'file' ? 'files' : entry.kind === 'dir' ? 'dirs' : 'symlinks'] += 1;
      totals.bytes += entry.bytes;
    }
    fingerprint.items[path] = { ...totals, tree: tree.digest('hex') };
    if (totals.files <= perFileLimit) {
      for (const entry of entries) {
        if (entry.kind === 'file' && entry.rel !== '')
          fingerprint.items[join(path, entry.rel)] = { bytes: entry.bytes, sha256: entry.hash };
      }
    }
  }
  return fingerprint;
}

/** `real` is where the bytes are (maybe under a restore dir); `original` is the path restic saw, which exclude patterns match. */
async function walk(
  real: string,
  rel: string,
  original: string,
  exclude: string[],
  out: Entry[],
): Promise<void> {
  if (excluded(original, exclude)) return;
  let info;
  try {
    info = await lstat(real);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return; // Missing tree: shows as empty.
    throw error;
  }
  if (info.isSymbolicLink()) {
    const target = await readlink(real);
    out.push({ rel, kind: 'symlink', bytes: 0, hash: createHash('sha256').update(target).digest('hex') });
  } else if (info.isDirectory()) {
    out.push({ rel, kind: 'dir', bytes: 0, hash: '' });
    for (const name of (await readdir(real)).sort()) {
      await walk(join(real, name), rel === '' ? name : `${rel}/${name}`, join(original, name), exclude, out);
    }
  } else if (info.isFile()) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(real)) hash.update(chunk as Buffer);
    out.push({ rel, kind: 'file', bytes: info.size, hash: hash.digest('hex') });
  }
  // Sockets, FIFOs and devices carry no content to compare.
}
