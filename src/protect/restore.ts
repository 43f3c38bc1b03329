/**
 * Restoring a dataset: `planRestore` picks the recovery point, reads `--to` and looks at the
 * target (what is there now); `applyRestore` moves the data and proves the result. Nothing is
 * written over existing data unless the caller says the user confirmed it (`force`): the
 * plan lists what would be replaced (`occupied`) and what a confirmed restore does to it
 * (`actions`), and `applyRestore` looks again right before writing.
 *
 * Streams go straight from `restic dump` into the source's restore tool (no temp copy, except
 * PostgreSQL's small roles script, filtered so that roles the target has keep their
 * passwords); files are restored by restic itself. A failed `restic dump` fails the restore.
 *
 * The proof, after every restore: the restored copy's fingerprint against the one recorded at
 * backup time, then the dataset's `verify.checks` on the copy. Policy on a fingerprint that
 * differs: a backup's fingerprint is measured on the live source beside the dump, so a
 * source under writes may legitimately differ from its own dump (not PostgreSQL's, whose
 * fingerprint reads the dump's own snapshot). `lenient` (restore's default)
 * accepts the difference with a warning when the dataset has checks and they all pass; with
 * no checks, or a failing one, the restore is reported failed (the data is there, but
 * unproven). `strict` (verify) never accepts a difference. A command dataset's fingerprint is
 * a second run of its command, so it is reported but never counts: its checks prove it.
 */
import { join } from 'node:path';
import { EnvironmentError, OperationError, RefusedError, UsageError, coerceError } from '../errors.js';
import { storedName } from './methods/logical/backup-units.js';
import { actor as defaultActor } from './audit.js';
import { describeError } from '../errors.js';
import { runChecks, type CheckResult, type CheckTarget } from './checks.js';
import type { ProtectContext } from './context.js';
import { MANIFEST_FILENAME, parseManifest, type ManifestUnit } from './manifest.js';
import { findRecoveryPoint, type RecoveryPoint } from './recovery-points.js';
import { describeTarget, observeTarget, resolveTarget, type TargetSpec } from './restore-target.js';
import type { ResticRepository } from '../engines/restic/repository.js';
import { startRedis } from '../stores/redis/sandbox.js';
import { createSource } from '../stores/index.js';

import { readAll, restoreTargetOf, transfer } from './restore-transfer.js';
import { judge, proveFingerprint } from './restore-proof.js';

export interface RestoreRequest {
  dataset: string;
  /** A prefix of a snapshot id of the run to restore. Default: the newest complete run. */
  snapshot?: string;
  /** The newest run that started at or before this time. */
  at?: string;
  /** `source`, a server URL (or `env:NAME` holding one), or a directory. */
  to: string;
  /** `SRC` or `SRC=DEST`, PostgreSQL and MySQL only. Default: every database, same names. */
  databases?: string[];
  /** Relative directories start here. Default: process.cwd(). */
  cwd?: string;
}

export interface RestoreUnitPlan {
  kind: 'stream' | 'paths';
  /** The unit's name in the backup (`postgres/app.dump`, the files' paths). */
  filename: string;
  /** Its file in the restic snapshot (streams). */
  stored?: string;
  snapshotId: string;
  /** Where it goes, in words. */
  into: string;
  /** PostgreSQL/MySQL: the database as backed up. */
  database?: string;
  /** Bytes at backup time. */
  bytes: number;
}

export interface RestorePlan {
  dataset: string;
  sourceType: string;
  repository: string;
  recoveryPoint: RecoveryPoint;
  target: TargetSpec;
  /** The target in words, passwords masked. */
  targetDescription: string;
  units: RestoreUnitPlan[];
  /** What the restore would replace or write over. Non-empty: it needs a confirmed `force`. */
  occupied: string[];
  /** What a confirmed restore does to what is there. */
  actions: string[];
  needsConfirmation: boolean;
  existingDatabases: string[];
  /** How many checks run after the restore. */
  checks: number;
  warnings: string[];
}

/** Picks the recovery point and the target and looks at the target. Changes nothing. */
export async function planRestore(context: ProtectContext, request: RestoreRequest): Promise<RestorePlan> {
  const dataset = context.dataset(request.dataset);
  const source = context.resolvedSource(request.dataset);
  const point = await findRecoveryPoint(context, request.dataset, {
    ...(request.snapshot !== undefined ? { snapshot: request.snapshot } : {}),
    ...(request.at !== undefined ? { at: request.at } : {}),
  });
  if (point.sourceType !== source.type) {
    throw new UsageError(
      `recovery point ${point.snapshotId.slice(0, 8)} of '${request.dataset}' was taken from a ${point.sourceType} source; the plan now says ${source.type}`,
      {
        hint: 'restore it with a plan whose source matches, or with restic directly (docs: restoring without Lifeboat)',
      },
    );
  }
  const units =
    point.units ?? (await manifestUnits(await context.repository(point.repository), point.snapshotId));
  const backedUpDatabases = units.flatMap((u) => {
    const db = databaseOfUnit(source.type, u.filename);
    return db === undefined ? [] : [db];
  });
  const target = resolveTarget({
    dataset: request.dataset,
    source,
    to: request.to,
    databases: request.databases ?? [],
    backedUpDatabases,
    planDir: context.planDir,
    homeDir: context.homeDir,
    ...(request.cwd !== undefined ? { cwd: request.cwd } : {}),
    env: context.env,
  });
  const observed = await observeTarget(target, source.type);
  const occupied = [
    ...(target.source ? [`the live source of dataset '${request.dataset}'`] : []),
    ...observed.occupied,
  ];
  const planned: RestoreUnitPlan[] = [];
  for (const unit of units) {
    const database = databaseOfUnit(source.type, unit.filename);
    if (target.kind === 'postgres' || target.kind === 'mysql') {
      if (database !== undefined && !(database in target.databases)) continue;
    }
    planned.push({
      kind: unit.kind,
      filename: unit.filename,
      ...(unit.kind === 'stream' ? { stored: unit.stored ?? storedName(unit.filename) } : {}),
      snapshotId: unit.snapshotId,
      into: unitDestination(target, source.type, unit, database),
      ...(database !== undefined ? { database } : {}),
      bytes: unit.bytesProcessed,
    });
  }
  const warnings: string[] = [];
  if (point.fingerprint === null && source.type !== 'command') {
    warnings.push('this backup recorded no fingerprint: only the checks can prove the restore');
  }
  return {
    dataset: request.dataset,
    sourceType: source.type,
    repository: point.repository,
    recoveryPoint: point,
    target,
    targetDescription: describeTarget(target),
    units: planned,
    occupied,
    actions:
      target.source && observed.actions.length === 0 ? ['restore over the live source'] : observed.actions,
    needsConfirmation: occupied.length > 0,
    existingDatabases: observed.existingDatabases,
    checks: (dataset.verify?.checks ?? []).length,
    warnings,
  };
}

/** The plan as printed by `--dry-run` and `--json`: no passwords, no fingerprint blob. */
export function describeRestorePlan(plan: RestorePlan): Record<string, unknown> {
  const { fingerprint: _fingerprint, units: _units, ...point } = plan.recoveryPoint;
  return {
    dataset: plan.dataset,
    sourceType: plan.sourceType,
    repository: plan.repository,
    recoveryPoint: { ...point, shortId: point.snapshotId.slice(0, 8) },
    target: plan.targetDescription,
    units: plan.units.map(({ filename, into, bytes, snapshotId }) => ({ filename, into, bytes, snapshotId })),
    occupied: plan.occupied,
    actions: plan.actions,
    needsConfirmation: plan.needsConfirmation,
    checks: plan.checks,
    warnings: plan.warnings,
  };
}

function databaseOfUnit(type: string, filename: string): string | undefined {
  const m =
    type === 'postgres'
      ? /^postgres\/(.+)\.dump$/.exec(filename)
      : type === 'mysql'
        ? /^mysql\/(.+)\.sql$/.exec(filename)
        : null;
  return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
}

function unitDestination(
  target: TargetSpec,
  type: string,
  unit: ManifestUnit,
  database: string | undefined,
): string {
  switch (target.kind) {
    case 'postgres':
    case 'mysql':
      return database === undefined
        ? 'roles missing on the target (existing roles are left as they are)'
        : `database ${target.databases[database]}`;
    case 'redis-server':
      return `every key, copied into ${target.host}:${target.port}`;
    case 'directory':
      if (type === 'redis') return join(target.path, 'dump.rdb');
      if (type === 'files') return target.source ? 'the original paths' : `${target.path}/<original path>`;
      return target.source ? 'the restore command' : join(target.path, unit.filename);
  }
}

async function manifestUnits(repository: ResticRepository, snapshotId: string): Promise<ManifestUnit[]> {
  const handle = await repository.dumpStream(snapshotId, MANIFEST_FILENAME);
  const text = await readAll(handle.stream, 16 * 1024 * 1024);
  await handle.done;
  return parseManifest(text).units;
}

// ---------------------------------------------------------------------------------------------
// Applying

export type RestoreEvent =
  | { type: 'unit-start'; unit: string; into: string }
  | { type: 'progress'; unit: string; bytesDone: number; totalBytes: number; secondsElapsed: number }
  | { type: 'unit-done'; unit: string; bytes: number; seconds: number; note?: string }
  | { type: 'proving' };

export interface ApplyRestoreOptions {
  /** The user confirmed replacing what `plan.occupied` lists. Default: false (then such a restore is refused). */
  force?: boolean;
  onEvent?: (event: RestoreEvent) => void;
  /** How a fingerprint difference counts (see the header). Default: `lenient`. */
  fingerprint?: 'strict' | 'lenient';
  /** The audit action recorded, or null for none (verify records its own). Default: `restore.run`. */
  audit?: string | null;
  actor?: string;
}

export interface FingerprintReport {
  /** Whether the comparison counts for `ok` (false: nothing recorded, or a command dataset). */
  compared: boolean;
  equal: boolean;
  differences: string[];
  /** How many items were compared. */
  items: number;
  note?: string;
}

export interface RestoreResult {
  dataset: string;
  snapshotId: string;
  runId: string | null;
  /** When the restored backup started. */
  backupStartedAt: string;
  target: string;
  ok: boolean;
  /** Moving the data, in seconds (the part of an RTO a restore takes). */
  restoreSeconds: number;
  /** Restore and proof. */
  totalSeconds: number;
  bytesRestored: number;
  units: { filename: string; into: string; bytes: number; seconds: number; note?: string }[];
  fingerprint: FingerprintReport;
  checks: CheckResult[];
  warnings: string[];
  /** Why `ok` is false. */
  error?: string;
}

export async function applyRestore(
  context: ProtectContext,
  plan: RestorePlan,
  options: ApplyRestoreOptions = {},
): Promise<RestoreResult> {
  const started = Date.now();
  const audit = options.audit === undefined ? 'restore.run' : options.audit;
  const record = async (outcome: string, details: Record<string, unknown>) => {
    if (audit === null) return;
    await (
      await context.state()
    ).appendAudit({
      actor: options.actor ?? defaultActor(),
      action: audit,
      target: `dataset:${plan.dataset}`,
      outcome,
      details: {
        snapshot: plan.recoveryPoint.snapshotId,
        run: plan.recoveryPoint.runId,
        target: plan.targetDescription,
        force: options.force === true,
        ...details,
      },
    });
  };

  // The target may have changed since the plan was made: look again right before writing.
  const now = await observeTarget(plan.target, plan.sourceType);
  const occupied = [
    ...(plan.target.source ? [`the live source of dataset '${plan.dataset}'`] : []),
    ...now.occupied,
  ];
  if (occupied.length > 0 && options.force !== true) {
    await record('refused', { occupied });
    throw new RefusedError(
      `refusing to restore '${plan.dataset}' over existing data: ${occupied.join('; ')}`,
      {
        hint: 'restore into a new database or an empty directory, or confirm with --force (you will be asked to type the dataset name; --yes without a terminal)',
        details: { occupied },
      },
    );
  }

  const config = context.resolvedSource(plan.dataset);
  const source = createSource(config, { dataset: plan.dataset, baseDir: context.planDir });
  const repository = await context.repository(plan.repository);
  const emit = options.onEvent ?? (() => {});
  const units: RestoreResult['units'] = [];
  let streamedHash: { sha256: string; bytes: number } | undefined;
  let transferSeconds = 0;
  let redisSandboxUrl: string | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const transferStart = Date.now();
    try {
      const moved = await transfer({
        plan,
        source,
        config,
        repository,
        existing: now.existingDatabases,
        force: options.force === true,
        emit,
        cleanups,
      });
      units.push(...moved.units);
      streamedHash = moved.streamedHash;
    } catch (error) {
      const message = describeError(coerceError(error));
      await record(error instanceof RefusedError ? 'refused' : 'failed', { error: message });
      if (error instanceof RefusedError || error instanceof UsageError) throw error;
      // An unreachable server or a missing tool stays an environment failure (exit 3).
      const Failure = error instanceof EnvironmentError ? EnvironmentError : OperationError;
      throw new Failure(
        `restore of '${plan.dataset}' from snapshot ${plan.recoveryPoint.snapshotId.slice(0, 8)} failed: ${message}`,
        {
          cause: error,
          hint: 'the target may hold a partial restore: look at it before using it, and restore again into a new target',
        },
      );
    }
    transferSeconds = (Date.now() - transferStart) / 1000;

    emit({ type: 'proving' });
    let checkTarget = checkTargetOf(plan, context);
    let restoredTarget = restoreTargetOf(plan.target);
    let fingerprint: FingerprintReport;
    let checks: CheckResult[];
    try {
      if (plan.target.kind === 'directory' && plan.sourceType === 'redis') {
        // An RDB proves itself by loading: measure and check a throwaway server started on it.
        const sandbox = await startRedis({ rdbFile: join(plan.target.path, 'dump.rdb') });
        cleanups.push(() => sandbox.stop());
        redisSandboxUrl = sandbox.url;
        restoredTarget = { kind: 'server', url: sandbox.url };
        checkTarget = { ...checkTarget, url: sandbox.url };
      }
      fingerprint = await proveFingerprint(plan, source, restoredTarget, streamedHash);
      checks = await runChecks(context.dataset(plan.dataset), checkTarget);
    } catch (error) {
      const message = describeError(coerceError(error));
      await record('failed', { error: `the proof could not run: ${message}` });
      throw new OperationError(
        `'${plan.dataset}' was restored into ${plan.targetDescription}, but the proof could not run: ${message}`,
        {
          cause: error,
        },
      );
    }
    const verdict = judge(plan, fingerprint, checks, options.fingerprint ?? 'lenient');
    const result: RestoreResult = {
      dataset: plan.dataset,
      snapshotId: plan.recoveryPoint.snapshotId,
      runId: plan.recoveryPoint.runId,
      backupStartedAt: plan.recoveryPoint.startedAt,
      target: plan.targetDescription,
      ok: verdict.ok,
      restoreSeconds: transferSeconds,
      totalSeconds: (Date.now() - started) / 1000,
      bytesRestored: units.reduce((sum, u) => sum + u.bytes, 0),
      units,
      fingerprint,
      checks,
      warnings: [...plan.warnings, ...verdict.warnings],
      ...(verdict.error ? { error: verdict.error } : {}),
    };
    await record(result.ok ? 'ok' : 'failed', {
      restoreSeconds: result.restoreSeconds,
      bytesRestored: result.bytesRestored,
      fingerprintEqual: fingerprint.equal,
      checksFailed: checks.filter((c) => !c.ok).map((c) => c.name),
      ...(result.error ? { error: result.error } : {}),
      ...(redisSandboxUrl ? { provenOn: 'a throwaway redis-server' } : {}),
    });
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

function checkTargetOf(plan: RestorePlan, context: ProtectContext): CheckTarget {
  const target = plan.target;
  const base = { type: plan.sourceType, cwd: context.planDir };
  switch (target.kind) {
    case 'postgres':
    case 'mysql': {
      const restored = Object.keys(target.databases);
      const configured = context.dataset(plan.dataset).source;
      const listed = configured && 'databases' in configured ? (configured.databases ?? []) : [];
      // The dataset's first database as the plan lists it; else the first restored one that is
      // not the server's maintenance database.
      const defaultDatabase =
        listed.find((db) => restored.includes(db)) ?? restored.find((db) => db !== 'postgres') ?? restored[0];
      return {
        ...base,
        url: target.url,
        databases: target.databases,
        ...(defaultDatabase !== undefined ? { defaultDatabase } : {}),
      };
    }
    case 'redis-server':
      return { ...base, url: target.url };
    case 'directory':
      return { ...base, dir: target.path };
  }
}
