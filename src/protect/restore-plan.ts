/**
 * Planning a restore: the recovery point, the target `--to` names, what the target holds now
 * and where each stored unit goes. Changes nothing.
 */
import { UsageError } from '../errors.js';
import { storedName } from './methods/logical/backup-units.js';
import type { ProtectContext } from './context.js';
import { MANIFEST_FILENAME, parseManifest, type ManifestUnit } from './manifest.js';
import { findRecoveryPoint, shortRecoveryPointId, type RecoveryPoint } from './recovery-points.js';
import { resolveTarget } from './restore-target.js';
import { readAll } from './restore-stream.js';
import type { ResticRepository } from '../engines/restic/repository.js';
import { isDatabaseServer, type TargetSpec } from '../stores/index.js';

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
  const handle = context.handle(request.dataset);
  const source = handle.source();
  const store = handle.store();
  const point = await findRecoveryPoint(context, request.dataset, {
    ...(request.snapshot !== undefined ? { snapshot: request.snapshot } : {}),
    ...(request.at !== undefined ? { at: request.at } : {}),
  });
  if (point.sourceType !== source.type) {
    throw new UsageError(
      `recovery point ${shortRecoveryPointId(point.snapshotId)} of '${request.dataset}' was taken from a ${point.sourceType} source; the plan now says ${source.type}`,
      {
        hint: 'restore it with a plan whose source matches, or with restic directly (docs: restoring without Lifeboat)',
      },
    );
  }
  const units =
    point.units ?? (await manifestUnits(await context.repository(point.repository), point.snapshotId));
  const backedUpDatabases = units.flatMap((u) => {
    const db = store.databaseOf(u.filename);
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
  const observed = await store.observeTarget(target);
  const occupied = [
    ...(target.source ? [`the live source of dataset '${request.dataset}'`] : []),
    ...observed.occupied,
  ];
  const planned: RestoreUnitPlan[] = [];
  for (const unit of units) {
    const database = store.databaseOf(unit.filename);
    // A selective restore leaves out the databases `--to` and `--database` did not pick.
    if (isDatabaseServer(target) && database !== undefined && !(database in target.databases)) continue;
    const bytes = unit.bytesProcessed;
    planned.push({
      kind: unit.kind,
      filename: unit.filename,
      ...(unit.kind === 'stream' ? { stored: unit.stored ?? storedName(unit.filename) } : {}),
      snapshotId: unit.snapshotId,
      into: store.unitDestination(target, {
        kind: unit.kind,
        filename: unit.filename,
        bytes,
        ...(database !== undefined ? { database } : {}),
      }),
      ...(database !== undefined ? { database } : {}),
      bytes,
    });
  }
  const warnings: string[] = [];
  if (point.fingerprint === null && store.proof === 'fingerprint') {
    warnings.push('this backup recorded no fingerprint: only the checks can prove the restore');
  }
  return {
    dataset: request.dataset,
    sourceType: source.type,
    repository: point.repository,
    recoveryPoint: point,
    target,
    targetDescription: store.describeTarget(target),
    units: planned,
    occupied,
    actions:
      target.source && observed.actions.length === 0 ? ['restore over the live source'] : observed.actions,
    needsConfirmation: occupied.length > 0,
    existingDatabases: observed.existingDatabases,
    checks: (handle.dataset.verify?.checks ?? []).length,
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
    recoveryPoint: { ...point, shortId: shortRecoveryPointId(point.snapshotId) },
    target: plan.targetDescription,
    units: plan.units.map(({ filename, into, bytes, snapshotId }) => ({ filename, into, bytes, snapshotId })),
    occupied: plan.occupied,
    actions: plan.actions,
    needsConfirmation: plan.needsConfirmation,
    checks: plan.checks,
    warnings: plan.warnings,
  };
}

async function manifestUnits(repository: ResticRepository, snapshotId: string): Promise<ManifestUnit[]> {
  const handle = await repository.dumpStream(snapshotId, MANIFEST_FILENAME);
  const text = await readAll(handle.stream, 16 * 1024 * 1024);
  await handle.done;
  return parseManifest(text).units;
}
