/**
 * The embedded backend: one SQLite file through better-sqlite3. Chosen over PGlite because
 * every command pays the open: ~18 ms against ~0.5 s (bench/state-store/README.md).
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { EnvironmentError, coerceError } from '../errors.js';
import { ensurePrivateDir, ensurePrivateFile, tightenIfExists } from './private-files.js';
import { damagedStoreError, isCorruption, storeUseError } from './damage.js';
import type { Driver, Row, SqlExecutor, SqlValue } from './driver.js';

/** How long a writer waits for another process's write lock before it fails. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * better-sqlite3 is synchronous: while one connection holds the write lock across an
 * `await`, a second connection to the same file in this process would block the event loop
 * in busy_timeout, and the first could never finish. So everything that may write to a file
 * takes this per-file, in-process queue first. Other processes wait on busy_timeout as usual.
 */
const queues = new Map<string, Promise<unknown>>();

async function exclusive<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const current = previous.then(fn); // previous never rejects: see tail
  const tail = current.catch(() => undefined);
  queues.set(file, tail);
  try {
    return await current;
  } finally {
    if (queues.get(file) === tail) queues.delete(file);
  }
}

/** The path that opens an empty store in memory, with no file anywhere (a dry run on a plan never run). */
export const IN_MEMORY = ':memory:';

export async function openSqliteDriver(path: string): Promise<Driver> {
  const Database = await loadBetterSqlite3();
  if (path === IN_MEMORY) {
    const db = new Database(IN_MEMORY);
    db.pragma('foreign_keys = ON');
    return sqliteDriver(db, 'memory (nothing is kept)');
  }
  const file = resolve(path);
  try {
    // New directories are private; `.lifeboat/` is Lifeboat's own, so an existing one is
    // tightened too. Any other existing directory belongs to whoever chose it.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    if (basename(dirname(file)) === '.lifeboat') ensurePrivateDir(dirname(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new EnvironmentError(`cannot create the state store directory ${dirname(file)}: ${code}`, {
      cause: error,
      hint: 'check that the directory is writable, or point the state store elsewhere',
      details: { path: file },
    });
  }

  let db: BetterSqlite3.Database | undefined;
  try {
    // SQLite creates the file 0644 (less the umask) and its -wal and -shm files with the
    // file's mode: created 0600 here first, all three stay private.
    ensurePrivateFile(file);
    db = new Database(file);
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // In WAL mode NORMAL loses no integrity on power loss, only the last commits; a state
    // store can afford that, and each write costs ~0.02 ms instead of ~0.3 ms (an fsync).
    db.pragma('synchronous = NORMAL');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    for (const suffix of ['-wal', '-shm']) tightenIfExists(file + suffix, 0o600);
    quickCheck(db, file);
  } catch (error) {
    db?.close();
    if (error instanceof EnvironmentError) throw error;
    if (isCorruption(error))
      throw damagedStoreError(file, coerceError(error).message, { cause: error, atOpen: true });
    const full = storeUseError(file, error);
    throw full instanceof EnvironmentError ? full : openError(file, error);
  }
  return sqliteDriver(db, file);
}

/**
 * A damaged page found at open stops every command before it reads wrong records or writes
 * into the damage. quick_check skips only the index-against-table comparison of
 * integrity_check (which doctor runs). It reads every page: on a store of 10,000 complete
 * snapshot records (5.7 MB) it took 16 ms on an idle core, 36 ms on a busy one, against 130
 * to 250 ms for integrity_check. Statements that meet damage later are caught as well.
 */
function quickCheck(db: BetterSqlite3.Database, file: string): void {
  const rows = db.pragma('quick_check(20)') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((p) => p !== 'ok');
  if (problems.length > 0) throw damagedStoreError(file, problems.slice(0, 3).join('; '), { atOpen: true });
}

/** What PRAGMA integrity_check finds wrong in the SQLite file at `path` (empty: nothing); for doctor. */
export async function sqliteIntegrityProblems(path: string, max = 20): Promise<string[]> {
  const Database = await loadBetterSqlite3();
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const rows = db.pragma(`integrity_check(${Math.max(1, Math.floor(max))})`) as {
      integrity_check: string;
    }[];
    return rows.map((r) => r.integrity_check).filter((p) => p !== 'ok');
  } finally {
    db.close();
  }
}

async function loadBetterSqlite3(): Promise<typeof BetterSqlite3> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (error) {
    throw new EnvironmentError(
      `cannot load the SQLite driver better-sqlite3: ${coerceError(error).message}`,
      {
        cause: error,
        hint:
          'its native module is compiled when npm installs it: run `npm rebuild better-sqlite3` ' +
          '(needs python3, make and a C++ compiler), or set LIFEBOAT_DATABASE_URL to use PostgreSQL',
      },
    );
  }
}

function openError(file: string, error: unknown): EnvironmentError {
  const code = (error as { code?: unknown }).code;
  const hints: Record<string, string> = {
    SQLITE_CANTOPEN: 'check that the file and its directory exist and are writable',
    SQLITE_READONLY: 'check that the file and its directory are writable by this user',
    SQLITE_PERM: 'check that the file and its directory are writable by this user',
    SQLITE_BUSY: `another process held the database locked for over ${BUSY_TIMEOUT_MS / 1000} s: retry`,
  };
  return new EnvironmentError(`cannot open the state store ${file}: ${coerceError(error).message}`, {
    cause: error,
    hint: (typeof code === 'string' && hints[code]) || 'check the file, its directory and their permissions',
    details: { path: file, ...(typeof code === 'string' ? { code } : {}) },
  });
}

function sqliteDriver(db: BetterSqlite3.Database, file: string): Driver {
  const statements = new Map<string, BetterSqlite3.Statement<SqlValue[], Row>>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare<SqlValue[], Row>(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  // Direct calls: used inside a transaction, which already holds the file's queue.
  // A store damaged after it was opened (by another process, a disk) stops the work at the
  // first statement that meets the damage, with the same error as at open.
  const guarded = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw storeUseError(file, error);
    }
  };
  const direct: SqlExecutor = {
    query: async (sql, params = []) => guarded(() => prepare(sql).all(...params)),
    run: async (sql, params = []) => guarded(() => prepare(sql).run(...params).changes),
    exec: async (sql) => guarded(() => void db.exec(sql)),
  };
  let closing: Promise<void> | undefined;

  return {
    backend: 'sqlite',
    location: file,
    query: (sql, params) => exclusive(file, () => direct.query(sql, params)),
    run: (sql, params) => exclusive(file, () => direct.run(sql, params)),
    exec: (sql) => exclusive(file, () => direct.exec(sql)),
    transaction: (fn) =>
      exclusive(file, async () => {
        guarded(() => db.exec('BEGIN IMMEDIATE'));
        try {
          const result = await fn(direct);
          guarded(() => db.exec('COMMIT'));
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    close: () => {
      // Waits for the queue so that a transaction in flight is not cut off.
      closing ??= exclusive(file, async () => {
        statements.clear();
        db.close();
      });
      return closing;
    },
  };
}
