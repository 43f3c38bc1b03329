/**
 * A store driver is everything Lifeboat knows about one kind of data store (one folder per
 * kind beside this file, mapped by `index.ts`): its `Store` below, and the source (dump
 * factory) it makes for a dataset. Each source answers the same five questions:
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
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { SourceConfig as PlanSourceConfig } from '../plan/schema.js';
import type { Fingerprint } from './fingerprint.js';
import type { RestoreTarget, TargetInput, TargetObservation, TargetSpec } from './target.js';
import type { Producer } from '../system/tool.js';

export type { Producer } from '../system/tool.js';
export type { RestoreTarget } from './target.js';

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

// ---------------------------------------------------------------------------------------------
// The driver: everything about one kind of data store

/** The kinds of data store the plan knows (`source.type`), as the plan's schema declares them. */
export type StoreKind = PlanSourceConfig['type'];

/** The plan's source config of one kind. */
export type KindConfig<K extends StoreKind> = Extract<PlanSourceConfig, { type: K }>;

/** A unit of a recovery point as a restore plans it. */
export interface PlannedUnit {
  kind: 'stream' | 'paths';
  /** The unit's name in the backup (`postgres/app.dump`, the files' paths). */
  filename: string;
  /** Database servers: the database as backed up; absent for a unit that is not one database. */
  database?: string;
  /** Bytes at backup time. */
  bytes: number;
}

export interface UnitDone {
  bytes: number;
  note?: string;
}

/** The sha256 and size of a stream's bytes as they were restored. */
export interface StreamedHash {
  sha256: string;
  bytes: number;
}

/**
 * What the restore use case offers a driver to move a recovery point into a target: the
 * repository's side (restic), so that drivers never talk to restic themselves.
 */
export interface RestoreIO {
  units: readonly PlannedUnit[];
  /** The user confirmed replacing what is there. */
  force: boolean;
  /** Databases (destination names) that existed on the target when it was last looked at. */
  existingDatabases: readonly string[];
  /** Restores one unit: `work` moves it; its start and end are reported and timed. */
  unit(unit: PlannedUnit, work: () => Promise<UnitDone>): Promise<void>;
  /**
   * Pipes the unit's stored bytes into `consume`; resolves to the bytes moved. `direct`: restic's
   * pipe is handed to the consumer's tool; `hash`: the bytes are hashed on their way; `head`
   * (with `direct`): the tool reads only the start, and closing the pipe early is no failure.
   */
  stream(
    unit: PlannedUnit,
    consume: (input: Readable) => Promise<void>,
    options?: { direct?: boolean; hash?: Hash; head?: boolean },
  ): Promise<number>;
  /** Opens the unit's stored file now, so that its `direct` stream does not wait for restic's start. */
  openAhead(unit: PlannedUnit | undefined): void;
  /** The whole stored file, for small ones (a roles script). */
  read(unit: PlannedUnit): Promise<string>;
  /** restic restores a paths unit itself, file by file, under `dir`. */
  restorePaths(unit: PlannedUnit, dir: string): Promise<void>;
  /** Several units in a row under one hold of the repository. */
  session<R>(work: () => Promise<R>): Promise<R>;
  /** Runs once the restore and its proof are done, however they ended. */
  defer(cleanup: () => Promise<void>): void;
  /**
   * Names what this restore creates beside the target (`<name>__lifeboat_restore_<id>`); the
   * audit records it before anything is written.
   */
  readonly id: string;
  /**
   * The units go into a staging place beside the target: called before the first write, so
   * that a failure removes what was written (see `Staging`).
   */
  stage(staging: Staging): void;
}

/**
 * A copy restored beside its target, under a name of its own, so that the target never holds
 * a partial restore: the proof measures `target`, then `commit` puts the copy in place.
 */
export interface Staging {
  /** Where the copy is, for the proof and the checks. */
  target: RestoreTarget;
  /**
   * Puts the proven copy under the target's name. What it replaces is moved aside, never
   * removed: one line per thing moved, saying where it is and how to remove it.
   */
  commit(): Promise<string[]>;
  /** Removes the copy (an unproven or failed restore); whatever of it exists. */
  discard(): Promise<void>;
}

/** The mark in the names of staged copies and of what a swap moved aside. */
export const STAGING_MARK = '__lifeboat_restore_';
export const REPLACED_MARK = '__lifeboat_replaced_';

/** A fresh, empty place of the right kind for `verify`; `stop` removes it. */
export interface Throwaway {
  /** `--to` for the restore. */
  to: string;
  describe: string;
  stop(): Promise<void>;
}

/** A server a restored copy is measured and checked on, when the copy itself is not one. */
export interface ProofServer {
  url: string;
  /** For the audit log: what the copy was proven on. */
  describe: string;
  stop(): Promise<void>;
}

/** How `sql` checks reach a restored database. */
export interface SqlAccess {
  /** The first column of the first row, or null when there is no row or the value is NULL. */
  query(url: string, database: string, sql: string): Promise<string | null>;
  /** `url` pointed at `database`: what command checks get as LIFEBOAT_TARGET_URL. */
  databaseUrl(url: string, database: string): string;
}

/** A tool `lifeboat doctor` looks for when the plan has a dataset of this kind. */
export interface StoreTool {
  tool: string;
  args: string[];
  /** What Lifeboat uses it for, shown when it is missing. */
  purpose: string;
}

/** A client that refuses servers newer than itself (pg_dump): doctor compares the two. */
export interface VersionedClient<C> {
  tool: string;
  /** The major version in the tool's version line. */
  major(versionLine: string): number | undefined;
  /** The live server's version and where it is. */
  server(config: C): Promise<{ version: string; major: number; where: string }>;
  /** The Debian package of the client for a server's major version. */
  package(major: number): string;
}

/**
 * One kind of data store Lifeboat backs up and restores. The use cases (backup, restore,
 * verify, doctor) ask the driver instead of testing the kind's name; a driver only ever gets
 * back the targets it made. Members are methods so that a driver typed for its own config
 * and targets is a `Store`.
 */
export interface Store<C extends { type: string } = PlanSourceConfig, T extends TargetSpec = TargetSpec> {
  readonly kind: C['type'];
  readonly protectable: true;
  /** The kind in words: `PostgreSQL`, `Redis`. */
  readonly label: string;
  /** The dump factory: what a backup stores and how a stored file is read back. */
  source(config: C, context: SourceContext): Source;
  /** Where the source is, for doctor: ` at HOST:PORT`, `: 2 path(s) readable`. */
  location(config: C): string;

  /** `--database` applies: the target is a server holding several databases. */
  readonly databases: boolean;
  /** The backed-up database a stored file holds, if it holds one. */
  databaseOf(filename: string): string | undefined;
  /** The forms `--to` takes for this kind. */
  readonly targetHint: string;
  /** Reads `--to` for this kind. Throws UsageError or RefusedError. No I/O but secrets. */
  resolveTarget(input: TargetInput<C>): T;
  /** The target with any password masked: what plans, reports and the audit log show. */
  describeTarget(spec: T): string;
  /** Where one unit goes, in words. */
  unitDestination(spec: T, unit: PlannedUnit): string;
  /** What the target holds now that the restore would replace, and what a confirmed one does to it. */
  observeTarget(spec: T): Promise<TargetObservation>;
  /** Moves the planned units into the target (dropping, flushing, moving aside what `force` allows). */
  restore(source: Source, config: C, spec: T, io: RestoreIO): Promise<StreamedHash | undefined>;
  /**
   * Removes the staged copies that restores into this target left when they were killed
   * (their names carry `STAGING_MARK`); one line per thing removed.
   */
  clearLeftovers?(spec: T): Promise<string[]>;

  /**
   * How a restored copy is proven: `fingerprint` measures it and compares with the backup's
   * fingerprint; `streamed-hash` only reports whether the restored bytes hash as recorded
   * (a second run of a command), and the checks prove it.
   */
  readonly proof: 'fingerprint' | 'streamed-hash';
  /** A server to measure and check the copy on, when the copy is a file that proves itself by loading. */
  proveOn?(spec: T): Promise<ProofServer | undefined>;
  /** How `sql` checks reach the copy; absent: only command checks apply. */
  readonly sql?: SqlAccess;
  /** The server's own database: never the default one checks run in. */
  readonly maintenanceDatabase?: string;
  /** A throwaway server for `verify`; absent: a temporary directory. */
  throwaway?(): Promise<Throwaway>;

  /** Tools `lifeboat doctor` requires when the plan has a dataset of this kind. */
  readonly tools: readonly StoreTool[];
  readonly versionedClient?: VersionedClient<C>;
}

/** A kind the plan may name whose data Lifeboat neither backs up nor restores (a vendor keeps it). */
export interface UnprotectedKind<K extends StoreKind = StoreKind> {
  readonly kind: K;
  readonly protectable: false;
  readonly label: string;
}
