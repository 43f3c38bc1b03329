/**
 * The tags Lifeboat puts on restic snapshots, so that the repository alone says which plan,
 * dataset, run and source every snapshot came from (`lifeboat catalog rebuild` reads them back,
 * and so can a person with plain `restic snapshots`).
 */

export const TAG_LIFEBOAT = 'lifeboat';
/**
 * On the units of a run: they count only through their run's complete manifest (a unit of a
 * run without one was interrupted). Runs before 2026-12 retagged their units complete.
 */
export const TAG_PENDING = 'lifeboat:pending';
/** On a run's manifest, saved once every unit succeeded: the run is a recovery point. */
export const TAG_COMPLETE = 'lifeboat:complete';

export interface SnapshotLabels {
  dataset: string;
  /** One backup run of a dataset: every unit snapshot of the run and its manifest share it. */
  run: string;
  /** Which part of the dataset: `postgres/app.sql`, `manifest.json`, `files`. */
  unit: string;
  source: string;
  /** First 12 hex of the plan's content hash. */
  plan: string;
  organization: string;
}

export function labelsToTags(labels: SnapshotLabels): string[] {
  return [
    TAG_LIFEBOAT,
    `dataset=${labels.dataset}`,
    `run=${labels.run}`,
    `unit=${labels.unit}`,
    `source=${labels.source}`,
    `plan=${labels.plan}`,
    `org=${slug(labels.organization)}`,
  ];
}

export function tagsToLabels(tags: readonly string[]): Partial<SnapshotLabels> {
  const labels: Partial<SnapshotLabels> = {};
  for (const tag of tags) {
    const eq = tag.indexOf('=');
    if (eq < 0) continue;
    const key = tag.slice(0, eq);
    const value = tag.slice(eq + 1);
    if (key === 'dataset' || key === 'run' || key === 'unit' || key === 'source' || key === 'plan')
      labels[key] = value;
    if (key === 'org') labels.organization = value;
  }
  return labels;
}

/** restic tags may not contain commas (they separate tags on the command line). */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

/** A sortable, unique run id: UTC time plus randomness, e.g. `20261123T140112Z-3f9a`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}
