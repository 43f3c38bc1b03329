/**
 * Doctor: the SQLite state store's pages are all sound. Opening the store runs only SQLite's
 * quick check; this runs the full integrity check (indexes against their tables too), read
 * only, so that it is safe while other commands use the store.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProtectContext } from '../protect/context.js';
import { rebuildHint } from '../state/damage.js';
import { sqliteIntegrityProblems } from '../state/sqlite.js';
import { failed, type DoctorCheck } from './check.js';

const NAME = 'state store integrity';

export async function checkStateIntegrity(context: ProtectContext): Promise<DoctorCheck> {
  if (context.env.LIFEBOAT_DATABASE_URL) {
    return { name: NAME, ok: true, detail: 'PostgreSQL ($LIFEBOAT_DATABASE_URL) checks its own pages' };
  }
  const file = join(context.homeDir, 'state.db');
  if (!existsSync(file)) {
    return {
      name: NAME,
      ok: true,
      warning: true,
      detail: `${file} does not exist yet; the first command creates it`,
    };
  }
  try {
    const problems = await sqliteIntegrityProblems(file);
    if (problems.length === 0) return { name: NAME, ok: true, detail: `${file}: integrity check ok` };
    return {
      name: NAME,
      ok: false,
      detail: `${file} is damaged: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
      fix: rebuildHint(file),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
      return {
        name: NAME,
        ok: false,
        detail: `${file} is damaged: ${(error as Error).message}`,
        fix: rebuildHint(file),
      };
    }
    return failed(NAME, error, `check that ${file} is readable by this user`);
  }
}
