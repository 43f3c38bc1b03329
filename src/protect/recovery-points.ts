/**
 * Choosing the recovery point a restore starts from: the newest complete backup run of a
 * dataset, the run holding a given snapshot id (`--snapshot`), or the newest run that started
 * at or before a time (`--at`). Only runs the state store calls complete count: a pending or
 * failed run is not a recovery point, whatever the repository still holds of it. Nor is, for
 * a restore's `latest` and `--at`, a run whose last verification failed: restoring it is
 * known not to give the data back; it is skipped and named in `skipped`. `--snapshot` still
 * takes it, as the user asked for that one, and so does a verification (see
 * `includeFailedVerifications`).
 *
 * `chooseRecoveryPoint` is pure (records in, a choice or a UsageError out); `findRecoveryPoint`
 * reads the records first.
 */
import { OperationError, UsageError } from '../errors.js';
import type { SnapshotRecord, VerificationRecord } from '../state/store.js';
import type { ProtectContext } from './context.js';
import { reconcileDataset } from './reconcile.js';
import type { ManifestUnit } from './manifest.js';
import type { Fingerprint } from '../stores/fingerprint.js';

/**
 * One id per recovery point, the one every command prints and accepts: the restic id of a
 * logical run's manifest snapshot, the pgBackRest label of a physical backup. Both are unique
 * in the dataset's repository and survive a rebuild of the state store from it (the record's
 * own id does not).
 */
export function recoveryPointId(record: Pick<SnapshotRecord, 'resticSnapshotId'>): string | null {
  return record.resticSnapshotId;
}

/**
 * The id as printed: restic's first 8 hexadecimal digits (restic's own short id), a
 * pgBackRest label whole, since every backup of a day shares its first 8 characters.
 */
export function shortRecoveryPointId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 8) : id;
}

export interface RecoveryPoint {
  /** The state store's id of the run's snapshot record. */
  recordId: string;
  dataset: string;
  repository: string;
  sourceType: string;
  /** restic id of the run's manifest snapshot: the id `lifeboat snapshots` shows. */
  snapshotId: string;
  runId: string | null;
  startedAt: string;
  /** Null for a record written before units were kept; the manifest in the repository has them. */
  units: ManifestUnit[] | null;
  /** What the source looked like when backed up; null when none was recorded. */
  fingerprint: Fingerprint | null;
  /** How it was chosen, for reports: `latest`, `snapshot abc123`, `at 2024-05-01T12:00:00.000Z`. */
  chosenBy: string;
  /** Newer recovery points passed over because their last verification failed, newest first. */
  skipped: SkippedPoint[];
}

export interface SkippedPoint {
  snapshotId: string;
  startedAt: string;
  /** Why, in words: `its verification failed at …: …`. */
  reason: string;
}

/** The last verification of each recovery point (by snapshot record id) that failed it. */
export type FailedVerifications = ReadonlyMap<string, VerificationRecord>;

/** A verification that reached no verdict on the point (see VerifyResult.inconclusive). */
export function verificationInconclusive(v: VerificationRecord): boolean {
  return v.details?.inconclusive === true;
}

/** From verifications newest first: the points whose latest conclusive verification did not pass. */
export function failedVerifications(newestFirst: readonly VerificationRecord[]): FailedVerifications {
  const latest = new Map<string, VerificationRecord>();
  for (const v of newestFirst)
    if (v.snapshotId !== null && !latest.has(v.snapshotId) && !verificationInconclusive(v))
      latest.set(v.snapshotId, v);
  return new Map([...latest].filter(([, v]) => !v.ok));
}

export interface RecoveryPointSelector {
  /** A prefix of the run's manifest snapshot id or of one of its unit snapshot ids. */
  snapshot?: string;
  /** ISO 8601 or `YYYY-MM-DD HH:MM`, local time unless it carries a zone. */
  at?: string;
  /**
   * Whether `latest` and `--at` may choose a point whose last verification failed. A restore
   * must not (the default); a verification must: re-testing that point is how it becomes good
   * again when the failure was not its own (a wrong check, a throwaway instance that did not
   * start).
   */
  includeFailedVerifications?: boolean;
}

/** How many runs of one dataset are searched; retention keeps far fewer. */
const searchLimit = 100_000;

export async function findRecoveryPoint(
  context: ProtectContext,
  dataset: string,
  given?: RecoveryPointSelector,
): Promise<RecoveryPoint> {
  const selector = given ?? {};
  const includeFailed = given?.includeFailedVerifications ?? false;
  context.dataset(dataset);
  // A crash may have left the records behind the repository: a completed run still pending,
  // a pruned run still listed. Settled here, so a restore never starts from a run that is gone.
  await reconcileDataset(context, dataset);
  const state = await context.state();
  const records = await state.listSnapshots(dataset, { status: 'complete', limit: searchLimit });
  const failed: FailedVerifications = includeFailed
    ? new Map()
    : failedVerifications(await state.listVerifications(dataset, { limit: searchLimit }));
  try {
    return chooseRecoveryPoint(dataset, records, selector, failed);
  } catch (error) {
    // An id that is not this dataset's may well be another's: say which.
    if (error instanceof UsageError && selector.snapshot && error.details?.reason === 'no-match') {
      for (const other of Object.keys(context.plan.datasets ?? {})) {
        if (other === dataset) continue;
        const theirs = await state.listSnapshots(other, { status: 'complete', limit: searchLimit });
        if (theirs.some((r) => matchesSnapshot(r, selector.snapshot!.toLowerCase()))) {
          throw new UsageError(
            `snapshot ${selector.snapshot} belongs to dataset '${other}', not '${dataset}'`,
            {
              hint: `lifeboat restore ${other} --snapshot ${selector.snapshot} ...`,
            },
          );
        }
      }
    }
    throw error;
  }
}

/**
 * The recovery point `selector` names among `records` (complete runs, any order). No runs at
 * all is an OperationError (there is nothing to restore yet); a selector that matches nothing
 * is a UsageError that says what exists.
 */
export function chooseRecoveryPoint(
  dataset: string,
  records: readonly SnapshotRecord[],
  selector: RecoveryPointSelector = {},
  failed: FailedVerifications = new Map(),
): RecoveryPoint {
  if (selector.snapshot !== undefined && selector.at !== undefined) {
    throw new UsageError('give either --snapshot or --at, not both');
  }
  const complete = records
    .filter((r) => r.status === 'complete' && r.resticSnapshotId !== null && r.forgettingSince === null)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  if (complete.length === 0) {
    throw new OperationError(
      `dataset '${dataset}' has no recovery point yet: no backup of it has completed`,
      {
        hint: `lifeboat backup ${dataset}`,
        details: { dataset },
      },
    );
  }

  if (selector.snapshot !== undefined) {
    const prefix = selector.snapshot.trim().toLowerCase();
    // restic ids are hexadecimal; pgBackRest labels read 20261204-101500F_20261204-121500I.
    if (!/^[0-9a-z_-]{1,100}$/.test(prefix)) {
      throw new UsageError(`--snapshot ${JSON.stringify(selector.snapshot)} is not a recovery point id`, {
        hint: `give the id \`lifeboat snapshots ${dataset}\` shows, or enough of its first characters to name one`,
      });
    }
    // A whole id wins over the longer ids it begins: a pgBackRest full backup's label is the
    // start of the labels of the incremental backups based on it.
    const exact = complete.filter((r) => r.resticSnapshotId?.toLowerCase() === prefix);
    const matches = exact.length === 1 ? exact : complete.filter((r) => matchesSnapshot(r, prefix));
    if (matches.length === 0) {
      throw new UsageError(
        `dataset '${dataset}' has no recovery point with a snapshot id starting with ${prefix}`,
        {
          hint: `lifeboat snapshots ${dataset} lists its recovery points`,
          details: { reason: 'no-match' },
        },
      );
    }
    if (matches.length > 1) {
      throw new UsageError(
        `snapshot id prefix ${prefix} is ambiguous: it matches ${matches.length} recovery points of '${dataset}': ${matches
          .map((r) => `${shortRecoveryPointId(r.resticSnapshotId!)} (${r.startedAt})`)
          .join(', ')}`,
        { hint: 'give more characters of the id' },
      );
    }
    return toRecoveryPoint(matches[0]!, `snapshot ${prefix}`, []);
  }

  if (selector.at !== undefined) {
    const at = parseTime(selector.at);
    const candidates = complete.filter((r) => Date.parse(r.startedAt) <= at.getTime());
    if (candidates.length === 0) {
      const first = complete[complete.length - 1]!;
      throw new UsageError(
        `dataset '${dataset}' has no recovery point at or before ${at.toISOString()}: the first one is from ${first.startedAt}`,
        {
          hint: `use a time at or after ${first.startedAt}, or restore that one with --snapshot ${shortRecoveryPointId(first.resticSnapshotId!)}`,
        },
      );
    }
    return firstGood(dataset, candidates, failed, `at ${at.toISOString()}`);
  }

  return firstGood(dataset, complete, failed, 'latest');
}

/** The newest of `newestFirst` that has not failed verification, naming those passed over. */
function firstGood(
  dataset: string,
  newestFirst: readonly SnapshotRecord[],
  failed: FailedVerifications,
  chosenBy: string,
): RecoveryPoint {
  const skipped: SkippedPoint[] = [];
  for (const record of newestFirst) {
    const verification = failed.get(record.id);
    if (!verification) {
      const why = skipped.map((s) => `skipped ${shortRecoveryPointId(s.snapshotId)}: ${s.reason}`).join('; ');
      return toRecoveryPoint(
        record,
        skipped.length === 0 ? chosenBy : `${chosenBy} that has not failed verification (${why})`,
        skipped,
      );
    }
    skipped.push({
      snapshotId: record.resticSnapshotId!,
      startedAt: record.startedAt,
      reason: `its verification failed at ${verification.finishedAt}: ${verification.error ?? 'no error recorded'}`,
    });
  }
  const newest = skipped[0]!;
  throw new OperationError(
    `every recovery point of '${dataset}' ${chosenBy === 'latest' ? '' : `${chosenBy} `}failed its verification; the newest, ${shortRecoveryPointId(newest.snapshotId)}: ${newest.reason}`,
    {
      hint: `back up again (lifeboat backup ${dataset}) and verify it; to restore a failed one anyway, name it with --snapshot ${shortRecoveryPointId(newest.snapshotId)}`,
      details: { dataset, skipped },
    },
  );
}

/** `prefix` is lower case: a pgBackRest label's `F`, `D` and `I` are matched whatever their case. */
function matchesSnapshot(record: SnapshotRecord, prefix: string): boolean {
  if (record.resticSnapshotId?.toLowerCase().startsWith(prefix)) return true;
  return (record.units ?? []).some(
    (u) => typeof u.snapshotId === 'string' && u.snapshotId.startsWith(prefix),
  );
}

function toRecoveryPoint(record: SnapshotRecord, chosenBy: string, skipped: SkippedPoint[]): RecoveryPoint {
  return {
    recordId: record.id,
    dataset: record.dataset,
    repository: record.repository,
    sourceType: record.sourceType,
    snapshotId: record.resticSnapshotId!,
    runId: record.runId,
    startedAt: record.startedAt,
    units: record.units as unknown as ManifestUnit[] | null,
    fingerprint: record.fingerprint as unknown as Fingerprint | null,
    chosenBy,
    skipped,
  };
}

const timePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses `--at`: ISO 8601 (`2024-05-01T14:30:00Z`, `2024-05-01T14:30+02:00`) or
 * `YYYY-MM-DD HH:MM[:SS]`. Without a zone the time is local; a date alone is its midnight.
 */
export function parseTime(text: string): Date {
  const m = timePattern.exec(text.trim());
  const invalid = () =>
    new UsageError(`--at ${JSON.stringify(text)} is not a time`, {
      hint: 'write it as ISO 8601 or `YYYY-MM-DD HH:MM` (local time unless it ends with Z or +HH:MM), e.g. --at "2024-05-01 14:30"',
    });
  if (!m) throw invalid();
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const parts = [
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(frac.padEnd(3, '0').slice(0, 3)),
  ] as const;
  let date: Date;
  if (zone === undefined) {
    date = new Date(...parts);
  } else {
    const utc = Date.UTC(...parts);
    date = new Date(utc - zoneOffsetMinutes(zone) * 60_000);
  }
  // Date rolls 2024-02-31 over to March; a time that does not exist is a mistake.
  const check = zone === undefined ? date : new Date(Date.UTC(...parts));
  const [cy, cmo, cd, ch, cmi] =
    zone === undefined
      ? [check.getFullYear(), check.getMonth(), check.getDate(), check.getHours(), check.getMinutes()]
      : [
          check.getUTCFullYear(),
          check.getUTCMonth(),
          check.getUTCDate(),
          check.getUTCHours(),
          check.getUTCMinutes(),
        ];
  const sameDay = cy === parts[0] && cmo === parts[1] && cd === parts[2];
  // A local time skipped by a DST change moves by an hour; only the calendar fields must hold.
  const sameTime = zone !== undefined ? ch === parts[3] && cmi === parts[4] : true;
  if (
    Number.isNaN(date.getTime()) ||
    !sameDay ||
    !sameTime ||
    parts[3] > 23 ||
    parts[4] > 59 ||
    parts[5] > 59
  ) {
    throw invalid();
  }
  return date;
}

function zoneOffsetMinutes(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}
