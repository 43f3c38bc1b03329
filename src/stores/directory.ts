/** Directory targets, shared by the kinds whose restore writes files (files, Redis's RDB, command output). */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { emptyObservation, type DirectoryTarget, type TargetObservation } from './target.js';

/** What a confirmed restore does to a directory, in the kind's words. */
export interface DirectoryWords {
  /** Over the live source. */
  overSource: string;
  /** Into a directory holding `entries`. */
  into(path: string, entries: string[]): string;
  /** Entries that do not count as data there (what a killed restore left, removed before writing). */
  ignore?(name: string): boolean;
}

export function observeDirectory(spec: DirectoryTarget, words: DirectoryWords): TargetObservation {
  if (!existsSync(spec.path)) return emptyObservation();
  if (!statSync(spec.path).isDirectory()) {
    throw new UsageError(`${spec.path} exists and is not a directory`, {
      hint: 'give a new or empty directory',
    });
  }
  if (spec.source) return { ...emptyObservation(), actions: [words.overSource] };
  const entries = readdirSync(spec.path).filter((name) => words.ignore?.(name) !== true);
  if (entries.length === 0) return emptyObservation();
  return {
    occupied: [
      `directory ${spec.path} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'})`,
    ],
    actions: [words.into(spec.path, entries)],
    existingDatabases: [],
  };
}

export function describeDirectory(spec: DirectoryTarget): string {
  return spec.source ? 'the live source (original paths)' : `directory ${spec.path}`;
}

/**
 * A new directory target is created; the live source's directory exists already. Returns the
 * directories it created, parents first, so that a failed restore can remove them again.
 */
export function ensureDirectory(spec: DirectoryTarget): string[] {
  if (spec.source) return [];
  // One level at a time rather than mkdirSync's recursive mode: where mkdir fails with ENOENT
  // although the parent exists (/proc, /sys), Node retries that forever at full CPU.
  const missing: string[] = [];
  for (let dir = resolve(spec.path); !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      throw new UsageError(`cannot create the directory ${spec.path}: ${(error as Error).message}`, {
        hint: 'restore into a directory you may write, e.g. --to ./restored',
      });
    }
  }
  return missing;
}
