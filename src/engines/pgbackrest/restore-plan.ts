/**
 * What a point-in-time restore will do, decided before anything is touched (pure): the
 * backup set, the pgBackRest options, and the refusals (a target before the first backup,
 * a non-empty target without force, the production data directory). `--dry-run` prints it.
 */
import { resolve } from 'node:path';
import { EnvironmentError, RefusedError, UsageError } from '../../errors.js';
import { backupBeforeLsn, backupBeforeTime, earliestRecoverable, type StanzaInfo } from './info.js';
import { describeTarget, type RecoveryTarget } from './target.js';

/** What is at the target data directory now. */
export type TargetDirState = 'missing' | 'empty' | 'not-empty' | 'running';

export interface PhysicalRestoreInput {
  dataset: string;
  target: RecoveryTarget;
  info: StanzaInfo;
  now: Date;
  toDataDir: string;
  toPort: number;
  targetDirState: TargetDirState;
  force: boolean;
  /** The production cluster's data directory, when known: never a restore target. */
  productionDataDir: string | undefined;
  /** The LSN Lifeboat recorded when it created the restore point (audit log), if it did. */
  restorePointLsn: string | undefined;
}

export interface PhysicalRestorePlan {
  dataset: string;
  target: RecoveryTarget;
  /** In words. */
  description: string;
  /** The backup set restored; WAL is replayed from its end to the target. */
  set: string;
  toDataDir: string;
  toPort: number;
  /** Over an existing data directory, keeping files whose checksum matches. */
  delta: boolean;
  /** pgbackrest restore options (besides --config and --stanza). */
  options: string[];
}

export function planPhysicalRestore(input: PhysicalRestoreInput): PhysicalRestorePlan {
  const { info, target } = input;
  if (info.statusCode === 1 || info.statusCode === 3) {
    throw new EnvironmentError(`the stanza '${input.dataset}' does not exist in its pgBackRest repository`, {
      hint: `nothing was ever backed up there: run \`lifeboat backup ${input.dataset}\` (check the repository in the plan if it should exist)`,
      details: { status: info.statusMessage },
    });
  }
  const earliest = earliestRecoverable(info);
  if (!earliest) {
    throw new UsageError(`dataset '${input.dataset}' has no backup to restore from (${info.statusMessage})`, {
      hint: `take one first: lifeboat backup ${input.dataset}`,
    });
  }
  let set = info.backups.at(-1)?.label ?? earliest.label;
  if (target.type === 'time') {
    if (target.time.getTime() > input.now.getTime()) {
      throw new UsageError(`${target.text} is in the future`, {
        hint: 'omit --at to recover everything archived so far',
      });
    }
    const before = backupBeforeTime(info, target.time);
    if (!before) throw beforeFirstBackup(input.dataset, describeTarget(target), earliest);
    set = before.label;
  }
  if (target.type === 'lsn') {
    const before = backupBeforeLsn(info, target.lsn);
    if (!before) throw beforeFirstBackup(input.dataset, describeTarget(target), earliest);
    set = before.label;
  }
  if (target.type === 'name' && input.restorePointLsn) {
    // pgBackRest picks a set by itself only for time and LSN targets; a restore point made
    // before the newest backup needs an older set, which its recorded LSN tells.
    const before = backupBeforeLsn(info, input.restorePointLsn);
    if (!before) throw beforeFirstBackup(input.dataset, describeTarget(target), earliest);
    set = before.label;
  }
  if (target.type === 'immediate') {
    if (!info.backups.some((b) => b.label === target.set)) {
      throw new UsageError(
        `backup ${target.set} of '${input.dataset}' is no longer in its pgBackRest repository`,
        {
          hint: `lifeboat snapshots ${input.dataset} lists the ones it holds`,
        },
      );
    }
    set = target.set;
  }
  if (input.productionDataDir && resolve(input.productionDataDir) === resolve(input.toDataDir)) {
    throw new RefusedError(`${input.toDataDir} is the data directory of the production cluster`, {
      hint: 'restore into a new directory (--to DIR); a point-in-time copy is checked before anything replaces production',
    });
  }
  if (input.targetDirState === 'running') {
    throw new RefusedError(`a PostgreSQL server is running in ${input.toDataDir}`, {
      hint: 'stop it first, or restore into another directory',
    });
  }
  if (input.targetDirState === 'not-empty' && !input.force) {
    throw new RefusedError(`${input.toDataDir} is not empty`, {
      hint: 'pass force to restore over it (a pgBackRest --delta restore that replaces what differs), or choose an empty directory',
    });
  }
  const delta = input.targetDirState === 'not-empty';
  const options = [`--pg1-path=${input.toDataDir}`, `--set=${set}`];
  if (target.type === 'default') options.push('--type=default');
  else if (target.type === 'immediate') options.push('--type=immediate', '--target-action=promote');
  else {
    const value = target.type === 'time' ? target.text : target.type === 'lsn' ? target.lsn : target.name;
    options.push(`--type=${target.type}`, `--target=${value}`, '--target-action=promote');
  }
  // The restored copy promotes to a new timeline: it must never push that WAL (or its
  // timeline history file) into the production repository. pgBackRest writes the setting
  // from PostgreSQL 12 on; restore.ts also appends it and passes it at start for any version.
  if (Number(info.pgVersion ?? 12) >= 12) options.push('--archive-mode=off');
  if (delta) options.push('--delta');
  return {
    dataset: input.dataset,
    target,
    description: describeTarget(target),
    set,
    toDataDir: input.toDataDir,
    toPort: input.toPort,
    delta,
    options,
  };
}

function beforeFirstBackup(
  dataset: string,
  what: string,
  earliest: { time: Date; lsn: string; label: string },
): UsageError {
  return new UsageError(`${what} is before the first backup of '${dataset}'`, {
    hint: `the earliest recoverable point is ${earliest.time.toISOString()} (LSN ${earliest.lsn}), the end of backup ${earliest.label}`,
    details: {
      earliestTime: earliest.time.toISOString(),
      earliestLsn: earliest.lsn,
      firstBackup: earliest.label,
    },
  });
}
