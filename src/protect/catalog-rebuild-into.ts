/**
 * `lifeboat catalog rebuild --into FILE`: the recovery points rebuilt from the repositories
 * into a new SQLite state store, for when the plan's own store is damaged and cannot be
 * opened. The damaged store is never opened or changed: the user moves the new file into
 * place (the command prints how), keeping the damaged one, whose verifications and audit
 * log exist nowhere else.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RefusedError, UsageError } from '../errors.js';
import { openStateStore } from '../state/store.js';
import { rebuildCatalog, type CatalogReport, type RebuildCatalogOptions } from './catalog.js';
import type { ProtectContext } from './context.js';

export interface RebuildIntoReport extends CatalogReport {
  into: {
    /** The new state store file. */
    file: string;
    /** The store it is meant to replace. */
    replaces: string;
    /** What the user runs to put it in place. */
    next: string;
  };
}

export async function rebuildCatalogInto(
  context: ProtectContext,
  into: string,
  options: RebuildCatalogOptions = {},
): Promise<RebuildIntoReport> {
  if (options.dryRun) throw new UsageError('--into and --dry-run cannot be used together');
  const file = resolve(into);
  const current = join(context.homeDir, 'state.db');
  if (existsSync(file)) {
    throw new RefusedError(`${file} exists; --into writes a new state store and never overwrites a file`, {
      hint: `name a file that does not exist yet, e.g. ${join(context.homeDir, 'rebuilt.db')}`,
    });
  }
  // A file even when the plan's store is PostgreSQL: the rebuilt records can then be looked at
  // before anything replaces the database.
  const env = { ...context.env };
  delete env.LIFEBOAT_DATABASE_URL;
  const store = await openStateStore({ path: file, env });
  let report: CatalogReport;
  try {
    report = await rebuildCatalog({ ...context, state: () => Promise.resolve(store) }, options);
  } finally {
    // Closing checkpoints the write-ahead log into the file: one file to move.
    await store.close();
  }
  // The -wal and -shm files go with the damaged file (state.db*): SQLite would replay them into the new one.
  const damaged = join(context.homeDir, 'damaged');
  const replaces = context.env.LIFEBOAT_DATABASE_URL ? 'the PostgreSQL state store' : current;
  const next = context.env.LIFEBOAT_DATABASE_URL
    ? `${file} holds the rebuilt records; the PostgreSQL state store was not changed`
    : `to use it: mkdir -p "${damaged}" && mv "${current}"* "${damaged}/" && mv "${file}" "${current}"`;
  return { ...report, into: { file, replaces, next } };
}
