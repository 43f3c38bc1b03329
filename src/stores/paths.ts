/** Where a path really lands: restore targets are compared after symlinks and `..` are resolved. */
import { existsSync, lstatSync, realpathSync, renameSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** True when `path` is `parent` or below it. */
export function isInside(path: string, parent: string): boolean {
  const rel = relative(parent, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The path with symlinks of its existing part resolved, so `..` and links cannot hide where it lands. */
export function canonical(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = resolve(existing, '..');
    if (parent === existing) return path;
    rest.unshift(basename(existing));
    existing = parent;
  }
  return join(realpathSync(existing), ...rest);
}

/** `path` itself if it exists (a dangling link counts), else its nearest existing parent. */
export function nearestExisting(path: string): string {
  let existing = resolve(path);
  for (;;) {
    try {
      lstatSync(existing);
      return existing;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return existing;
      existing = parent;
    }
  }
}

/** `word` as one word of a POSIX shell command, for the commands a message tells the user to run. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Renames `file` to `file.before-restore-<time>` and returns the new name, or undefined if there was none. */
export function moveAside(file: string, now: Date = new Date()): string | undefined {
  if (!existsSync(file)) return undefined;
  const aside = `${file}.before-restore-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  renameSync(file, aside);
  return aside;
}
