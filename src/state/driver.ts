/**
 * The small interface each state-store backend implements. SQL is written once, with `?`
 * placeholders, in the dialect both SQLite and PostgreSQL accept; the PostgreSQL adapter
 * rewrites the placeholders to `$1, $2, …`. Only store.ts and migrations.ts use it.
 */

/** What a parameter can be: the store maps booleans to 0/1, objects to JSON text, dates to ISO text. */
export type SqlValue = string | number | null;

/** One result row, keyed by column name (snake_case, as in the schema). */
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs a statement that returns rows (SELECT, or INSERT/UPDATE … RETURNING). */
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs a statement that returns no rows; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type Backend = 'sqlite' | 'postgres';

export interface Driver extends SqlExecutor {
  readonly backend: Backend;
  /** Where the data lives, safe to print: a file path, or the URL with its password hidden. */
  readonly location: string;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * SQLite starts it with BEGIN IMMEDIATE (the write lock is taken up front, so two writers
   * wait on busy_timeout instead of failing on a lock upgrade).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}
