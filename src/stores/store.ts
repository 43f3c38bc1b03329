/**
 * A source is one kind of data store Lifeboat backs up (one file per type in this folder,
 * mapped by `index.ts`). Each answers the same five questions:
 *
 * - `check()`: can we reach it? Throws EnvironmentError naming host, port and the tool's
 *   message (never the password), with a hint; a missing tool names its Debian package.
 * - `units()`: what to store. A `stream` unit is a process whose stdout restic stores as one
 *   file of the snapshot (`restic backup --stdin --stdin-filename FILENAME`); a `paths` unit
 *   (files sources) is handed to restic as paths, so restic dedups and restores file by file.
 * - `fingerprint()`: what a restore must reproduce, measured on the live source (row counts
 *   and content checksums per table, key counts, file hashes). A busy source changes between
 *   the dump and this measurement; compare against it only for sources at rest, otherwise
 *   record the restored copy's fingerprint as the backup's proof.
 * - `restoreUnit(filename, input, target)`: reads one stored file back into a target (a new
 *   database on a server, a directory). Never overwrites: an existing target database is a
 *   RefusedError.
 * - `fingerprintOf(target, recorded)`: the same measurement on a restored copy, keyed like
 *   the source's (and taken the way `recorded` was) so that `compareFingerprints(source,
 *   restored)` is meaningful.
 * - `capture()` (optional): the units and the fingerprint of one consistent state of the
 *   source, for sources that can offer one (PostgreSQL: pg_dump and the fingerprint read
 *   one exported snapshot). Without it, a backup uses `units()` and `fingerprint()`.
 *
 * Sources never talk to restic: the backup and verify code pipes units into repositories and
 * repositories back into `restoreUnit`. Passwords reach tools through the environment
 * (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH), never through args, where `ps` would show them.
 */
import type { Readable } from 'node:stream';
import type { Fingerprint } from './fingerprint.js';
import type { Producer } from '../system/tool.js';

export type { Producer } from '../system/tool.js';

/** One stream restic stores as one file of a snapshot. */
export interface StreamUnit {
  kind: 'stream';
  /** Path of the file inside the snapshot, e.g. `postgres/appdb.dump`. */
  filename: string;
  /** A process whose standard output is the data. */
  producer: Producer;
  /** What it holds, for listings and selective restores (`database appdb`, `roles`). */
  description: string;
}

/** Files and directories restic reads itself (files sources). */
export interface PathsUnit {
  kind: 'paths';
  /** Absolute paths. */
  paths: string[];
  /** restic `--exclude` patterns. */
  exclude: string[];
  description: string;
}

export type BackupUnit = StreamUnit | PathsUnit;

/** Where a restore goes. */
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
    };

/** One backup's view of a source: what to store and what a restore of it must reproduce. */
export interface Capture {
  units: BackupUnit[];
  /** Measured while the units are stored. */
  fingerprint: Promise<Fingerprint>;
  /** Ends what the capture holds open; called once every unit has been stored, or has failed. */
  close(): Promise<void>;
}

export interface Source {
  readonly type: string;
  check(): Promise<void>;
  units(): Promise<BackupUnit[]>;
  fingerprint(): Promise<Fingerprint>;
  capture?(): Promise<Capture>;
  restoreUnit(filename: string, input: Readable, target: RestoreTarget): Promise<void>;
  /** `recorded`: the fingerprint the backup recorded, whose way of measuring is followed. */
  fingerprintOf(target: RestoreTarget, recorded?: Fingerprint): Promise<Fingerprint>;
}

/** What every source factory gets besides its config. */
export interface SourceContext {
  /** The dataset's key in the plan (names default files, e.g. `<dataset>.out`). */
  dataset: string;
  /** Relative file paths are resolved against this (the plan file's directory). Default: cwd. */
  baseDir?: string;
}
