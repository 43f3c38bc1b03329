/**
 * Restore targets: where `--to` sends a recovery point, once read for the dataset's kind of
 * store. The use cases pass a target back to the driver that made it; only the shapes below
 * are shared (a database server, a Redis server, a directory).
 */

/**
 * Where a source's `restoreUnit` writes and its `fingerprintOf` measures: a server or a
 * directory, whatever the kind.
 */
export type RestoreTarget =
  | {
      kind: 'server';
      /** A server of the source's type, e.g. a throwaway instance's url. */
      url: string;
      /**
       * Source database → name to create on the target. Databases not listed keep their name.
       * For `fingerprintOf`, the listed databases are the ones measured. Default: same names.
       */
      databases?: Record<string, string>;
      /** Parallel restore jobs where the tool supports it (pg_restore -j). Default: 1, streaming. */
      jobs?: number;
    }
  | {
      kind: 'directory';
      /** A directory: files restored by restic land at `path/<absolute source path>`; Redis writes `dump.rdb` here. */
      path: string;
      /**
       * Files: the directory `path` stands for, when the restored paths are at
       * `path/<source path relative to it>`. Default: `/`, the whole absolute path.
       */
      root?: string;
    };

/** A PostgreSQL or MySQL server that databases are restored into. */
export interface DatabaseServerTarget {
  /** The server, connected to a maintenance database; may hold a password (never print it). */
  url: string;
  host: string;
  port: number;
  /** Source database (as backed up) → database to create on the target. */
  databases: Record<string, string>;
  /** The dataset's own live source. */
  source: boolean;
}

export type PostgresTarget = DatabaseServerTarget & { kind: 'postgres' };
export type MysqlTarget = DatabaseServerTarget & { kind: 'mysql' };
export interface RedisServerTarget {
  kind: 'redis-server';
  url: string;
  host: string;
  port: number;
  source: boolean;
}
export interface DirectoryTarget {
  kind: 'directory';
  path: string;
  source: boolean;
}

export type TargetSpec = PostgresTarget | MysqlTarget | RedisServerTarget | DirectoryTarget;

/** What a restore target holds already: a restore never writes over data without a confirmation. */
export interface TargetObservation {
  /** One line per thing the restore would replace or write over. Empty: the target is new or empty. */
  occupied: string[];
  /** What a confirmed restore does to them, for the confirmation prompt. */
  actions: string[];
  /** Databases (destination names) that exist on the target now. */
  existingDatabases: string[];
}

export const emptyObservation = (): TargetObservation => ({
  occupied: [],
  actions: [],
  existingDatabases: [],
});

/** A server whose databases are restored one by one, each under a name of the user's choosing. */
export function isDatabaseServer(spec: TargetSpec): spec is PostgresTarget | MysqlTarget {
  return spec.kind === 'postgres' || spec.kind === 'mysql';
}

/** The target as a source's `restoreUnit` and `fingerprintOf` take it. */
export function restoreTargetOf(spec: TargetSpec): RestoreTarget {
  if (isDatabaseServer(spec)) return { kind: 'server', url: spec.url, databases: spec.databases };
  if (spec.kind === 'redis-server') return { kind: 'server', url: spec.url };
  return { kind: 'directory', path: spec.path };
}

/** For kinds restored into a directory only. */
export const DIRECTORY_HINT = '--to DIR (a new or empty directory), or --to source --force';

/** What a driver gets to read `--to` for its kind (the generic part is read already). */
export interface TargetInput<C> {
  dataset: string;
  /** The dataset's source, secrets resolved. */
  config: C;
  /** `--to` as given, trimmed. */
  to: string;
  /** `--to source`: the dataset's own live source. */
  isSource: boolean;
  /** `--to` with an `env:`/`file:` reference replaced by its value; empty for `source`. */
  value: string;
  /** `--database SRC` or `SRC=DEST`, repeated. */
  databases: string[];
  /** The databases the recovery point holds. */
  backedUpDatabases: string[];
  planDir: string;
  /**
   * `value` as a directory target: refused when it is a URL or lies inside Lifeboat's own
   * directory. The generic reading, for kinds that restore into directories.
   */
  directory(): DirectoryTarget;
}
