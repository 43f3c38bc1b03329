/**
 * Which recovery points a retention policy keeps: pure functions, no I/O (prune.ts applies
 * the result).
 *
 * Why Lifeboat computes the keep set itself instead of `restic forget --keep-*`: a
 * recovery point is one RUN of several restic snapshots (one per unit plus the manifest),
 * and they must be kept or removed together. restic's `--group-by paths` would treat each
 * unit as its own series, and the units of one run carry different times (they are written
 * one after another), so a run that straddles a bucket boundary (a daily run from 23:59:50
 * to 00:00:20) could keep its dump but lose its manifest, or the reverse. Here the policy is
 * applied once, to runs, each with one time, and prune.ts forgets every snapshot of a
 * removed run by id.
 *
 * The rules are restic's (0.14, `restic/snapshot_policy.go`), so that a user who knows
 * `restic forget` knows what `retention:` does: runs sorted newest first; for each rule
 * with a count left, a run whose bucket (hour, day, ISO week, month, year; `last`: every
 * run) differs from the bucket of the last run that rule kept is kept and the count goes
 * down. A run is kept when any rule keeps it. The one deliberate difference: buckets are
 * computed in UTC (restic uses the time zone each snapshot was recorded in), because the
 * plan's times (`backup.at`) are UTC and a host's time zone must not change what is kept.
 */
import type { RetentionPolicy } from '../plan/schema.js';

export type { RetentionPolicy };

/** What a dataset keeps when its plan says nothing: restic's usual starter policy. */
export const DEFAULT_RETENTION: Readonly<
  Required<Pick<RetentionPolicy, 'last' | 'daily' | 'weekly' | 'monthly'>>
> = {
  last: 3,
  daily: 7,
  weekly: 4,
  monthly: 12,
};

/** The dataset's `retention:`, or DEFAULT_RETENTION when it has none (a partial one is taken as written). */
export function effectiveRetention(retention: RetentionPolicy | undefined): RetentionPolicy {
  return retention ?? { ...DEFAULT_RETENTION };
}

const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type RetentionRule = (typeof RULES)[number];

/** A policy without any positive count removes nothing (restic refuses such a forget too). */
export function keepsEverything(policy: RetentionPolicy): boolean {
  return RULES.every((rule) => !(policy[rule] && policy[rule] > 0));
}

/** `{ last: 3, daily: 7 }` → `last 3, daily 7`. */
export function describePolicy(policy: RetentionPolicy): string {
  const parts = RULES.filter((rule) => (policy[rule] ?? 0) > 0).map((rule) => `${rule} ${policy[rule]}`);
  return parts.length > 0 ? parts.join(', ') : 'no keep rule (everything is kept)';
}

/** The bucket a time falls in for a rule, in UTC; `last` gives every item its own. */
export function bucketOf(rule: Exclude<RetentionRule, 'last'>, time: Date): string {
  const iso = time.toISOString();
  switch (rule) {
    case 'hourly':
      return iso.slice(0, 13);
    case 'daily':
      return iso.slice(0, 10);
    case 'weekly':
      return isoWeek(time);
    case 'monthly':
      return iso.slice(0, 7);
    case 'yearly':
      return iso.slice(0, 4);
  }
}

/** ISO 8601 week, as Go's `Time.ISOWeek` (which restic uses): `2026-W01`. */
export function isoWeek(time: Date): string {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  // The ISO year of a week is the year of its Thursday.
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export interface Timed {
  /** ISO 8601 / RFC 3339. */
  time: string;
}

export interface RetentionDecision<T extends Timed> {
  /** Newest first, each with the rules that keep it (`daily 2026-11-23`, `last 1/3`). */
  keep: { item: T; reasons: string[] }[];
  /** Newest first. */
  remove: T[];
}

/**
 * Applies `policy` to `items` as restic does (see the file's comment). Items with the same
 * time keep their given order. A policy without positive counts keeps everything.
 */
export function applyRetention<T extends Timed>(
  items: readonly T[],
  policy: RetentionPolicy,
): RetentionDecision<T> {
  const sorted = items
    .map((item, index) => ({ item, index, ms: Date.parse(item.time) }))
    .sort((a, b) => b.ms - a.ms || a.index - b.index);
  for (const entry of sorted) {
    if (Number.isNaN(entry.ms))
      throw new Error(`retention: unparsable time ${JSON.stringify(entry.item.time)}`);
  }
  if (keepsEverything(policy)) {
    return {
      keep: sorted.map(({ item }) => ({ item, reasons: ['no keep rule: everything is kept'] })),
      remove: [],
    };
  }
  const state = RULES.map((rule) => ({
    rule,
    left: policy[rule] ?? 0,
    total: policy[rule] ?? 0,
    last: undefined as string | undefined,
  }));
  const decision: RetentionDecision<T> = { keep: [], remove: [] };
  sorted.forEach(({ item, ms }, position) => {
    const reasons: string[] = [];
    for (const bucket of state) {
      if (bucket.left <= 0) continue;
      const value = bucket.rule === 'last' ? `#${position}` : bucketOf(bucket.rule, new Date(ms));
      if (value === bucket.last) continue;
      bucket.last = value;
      bucket.left--;
      reasons.push(
        bucket.rule === 'last'
          ? `last ${bucket.total - bucket.left}/${bucket.total}`
          : `${bucket.rule} ${value} (${bucket.total - bucket.left}/${bucket.total})`,
      );
    }
    if (reasons.length > 0) decision.keep.push({ item, reasons });
    else decision.remove.push(item);
  });
  return decision;
}

// ---------------------------------------------------------------------------------------------
// Runs: the snapshots of one backup run, as the repository shows them

/** The parts of a restic snapshot this needs (restic/output.ts's Snapshot fits). */
export interface TaggedSnapshot extends Timed {
  id: string;
  tags: string[];
}

export interface RunSnapshots<S extends TaggedSnapshot = TaggedSnapshot> {
  run: string;
  /** The run's earliest snapshot time: when its first unit started, i.e. the recovery point. */
  time: string;
  /** The complete-tagged manifest: only a run that has one is a recovery point. */
  manifest: S | undefined;
  /** Complete-tagged snapshots: the manifest, and the units of runs written before 2026-12. */
  complete: S[];
  /**
   * Tagged pending: the units of a run, which its complete manifest vouches for (since
   * 2026-12 units are never retagged); in a run without one, what an interrupted run left.
   */
  pending: S[];
}

const COMPLETE = 'lifeboat:complete';
const PENDING = 'lifeboat:pending';
const MANIFEST_UNIT = 'unit=lifeboat-manifest.json';

/**
 * Groups one dataset's snapshots by their `run=` tag. Snapshots without a run tag, or
 * tagged neither complete nor pending, are not Lifeboat's to judge and are left out, so
 * nothing below can remove them.
 */
export function groupRuns<S extends TaggedSnapshot>(snapshots: readonly S[]): RunSnapshots<S>[] {
  const runs = new Map<string, RunSnapshots<S>>();
  for (const snapshot of snapshots) {
    const run = snapshot.tags.find((t) => t.startsWith('run='))?.slice(4);
    const complete = snapshot.tags.includes(COMPLETE);
    const pending = snapshot.tags.includes(PENDING);
    if (!run || complete === pending) continue;
    let group = runs.get(run);
    if (!group) {
      group = { run, time: snapshot.time, manifest: undefined, complete: [], pending: [] };
      runs.set(run, group);
    }
    if (Date.parse(snapshot.time) < Date.parse(group.time)) group.time = snapshot.time;
    if (pending) group.pending.push(snapshot);
    else {
      group.complete.push(snapshot);
      if (snapshot.tags.includes(MANIFEST_UNIT)) group.manifest = snapshot;
    }
  }
  return [...runs.values()].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

// ---------------------------------------------------------------------------------------------
// The prune decision for one dataset

/** Leftovers of a run that has no manifest are removed once this old, unless known dead sooner. */
export const LEFTOVER_AGE_MS = 86_400_000;

export interface RunVerdict {
  run: string;
  time: string;
  /** The manifest's snapshot id (the id the state store knows the recovery point by). */
  manifestId?: string;
  /** Every snapshot of the run this verdict is about (kept, or to forget). */
  snapshotIds: string[];
  reasons: string[];
}

export interface DatasetPruneDecision {
  dataset: string;
  policy: RetentionPolicy;
  /** Complete runs the policy keeps, newest first. */
  keep: RunVerdict[];
  /** Complete runs the policy removes, newest first: every one of their snapshots goes. */
  remove: RunVerdict[];
  /** Snapshots of interrupted runs that go now: pending ones, and units of runs with no manifest. */
  leftovers: RunVerdict[];
  /** Leftovers left in place for now: their run may still be being written by another process. */
  waiting: RunVerdict[];
}

export interface PruneDecisionInput<S extends TaggedSnapshot> {
  dataset: string;
  policy: RetentionPolicy;
  /** This dataset's snapshots (tags `dataset=<id>` and the plan's `org=`), in any order. */
  snapshots: readonly S[];
  now: Date;
  /**
   * Runs that certainly ended without completing (the state store recorded them failed, or
   * pending while nobody holds their dataset's backup lock). Their leftovers go at once;
   * other runs' only after `leftoverAgeMs`.
   */
  deadRuns: ReadonlySet<string>;
  /** Default: LEFTOVER_AGE_MS (one day). */
  leftoverAgeMs?: number;
}

/**
 * What prune does to one dataset. Retention counts only complete runs (a run is complete
 * when its manifest is complete-tagged), so an interrupted run can never push a good one
 * out. A removed run loses all its snapshots; a kept run keeps all of them: its manifest
 * vouches for its pending units (a run that failed part-way never stores a manifest).
 */
export function decidePrune<S extends TaggedSnapshot>(input: PruneDecisionInput<S>): DatasetPruneDecision {
  const runs = groupRuns(input.snapshots);
  const complete = runs.filter((r) => r.manifest !== undefined);
  const retention = applyRetention(complete, input.policy);
  const decision: DatasetPruneDecision = {
    dataset: input.dataset,
    policy: input.policy,
    keep: retention.keep.map(({ item, reasons }) => verdict(item, allOf(item), reasons)),
    remove: retention.remove.map((run) =>
      verdict(run, allOf(run), [`beyond the retention (${describePolicy(input.policy)})`]),
    ),
    leftovers: [],
    waiting: [],
  };
  const maxAge = input.leftoverAgeMs ?? LEFTOVER_AGE_MS;
  for (const run of runs) {
    // A complete run is kept or removed whole, above.
    if (run.manifest) continue;
    const stray = allOf(run);
    const newest = Math.max(...stray.map((s) => Date.parse(s.time)));
    const what = `interrupted run: ${stray.length} snapshot(s) and no complete manifest`;
    if (input.deadRuns.has(run.run)) {
      decision.leftovers.push(
        verdict(run, stray, [`${what}; the run is dead (recorded failed, or pending with no process left)`]),
      );
    } else if (input.now.getTime() - newest >= maxAge) {
      decision.leftovers.push(
        verdict(run, stray, [`${what}; older than ${Math.round(maxAge / 3_600_000)}h`]),
      );
    } else {
      decision.waiting.push(
        verdict(run, stray, [
          `${what}; kept until ${Math.round(maxAge / 3_600_000)}h old, in case another process is still writing it`,
        ]),
      );
    }
  }
  return decision;
}

/** Every snapshot of a run, oldest first. */
function allOf<S extends TaggedSnapshot>(run: RunSnapshots<S>): S[] {
  return [...run.complete, ...run.pending].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

function verdict<S extends TaggedSnapshot>(
  run: RunSnapshots<S>,
  snapshots: S[],
  reasons: string[],
): RunVerdict {
  return {
    run: run.run,
    time: run.time,
    ...(run.manifest ? { manifestId: run.manifest.id } : {}),
    snapshotIds: snapshots.map((s) => s.id),
    reasons,
  };
}
