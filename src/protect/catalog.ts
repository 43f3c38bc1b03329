/**
 * `lifeboat catalog rebuild`: the state store's recovery points, rebuilt from the
 * repositories, which are the source of truth (principle 1: restic alone can restore
 * everything, so restic alone must be enough to know what there is). For a lost or
 * restored-from-an-old-copy state database, or after a crash between a restic command and
 * the state store write that follows it.
 *
 * `planCatalogSync` compares one repository's snapshots with the state store's records, no
 * I/O; `rebuildCatalog` reads both, then reads each missing run's manifest from the
 * repository (`restic dump`) and records it. Only runs with a complete-tagged manifest are
 * recovery points; interrupted runs are left to prune.
 */
import { LifeboatError, OperationError, coerceError } from '../errors.js';
import type { SnapshotRecord } from '../state/store.js';
import { actor } from './audit.js';
import { RepositoryNotCreatedError, type ProtectContext } from './context.js';
import type { Manifest } from './manifest.js';
import { manifestCompletion, readManifest } from './manifest-read.js';
import { lockForMaintenance, planPrune } from './prune.js';
import { reconcileDataset } from './reconcile.js';
import { listOrNothing, planTags } from './repository-snapshots.js';
import type { Snapshot } from '../engines/restic/repository.js';
import { groupRuns, type RunSnapshots } from './retention.js';
import { TAG_COMPLETE, TAG_PENDING } from './tags.js';

export interface CatalogSync {
  /** Complete runs in the repository that the state store does not know. */
  insert: { dataset: string; run: RunSnapshots<Snapshot> }[];
  /** Complete state records of this repository whose manifest snapshot is gone. */
  remove: SnapshotRecord[];
  /** Complete runs the state store knows already. */
  known: number;
}

/**
 * What to change in the state store so that it shows exactly the repository's complete
 * runs. `records`: the state store's complete records of the datasets concerned (any
 * repository: those of other repositories are ignored here). No I/O.
 */
export function planCatalogSync(
  repository: string,
  snapshots: readonly Snapshot[],
  records: readonly SnapshotRecord[],
): CatalogSync {
  const ours = records.filter((r) => r.repository === repository && r.status === 'complete');
  // Matched by the manifest's snapshot id alone: a record of the same run under another id
  // (the manifest was retagged, which gives it a new id) is replaced, not kept beside it.
  const knownIds = new Set(ours.map((r) => r.resticSnapshotId));
  const sync: CatalogSync = { insert: [], remove: [], known: 0 };
  const manifests = new Set<string>();
  for (const [dataset, list] of byDataset(snapshots)) {
    for (const run of groupRuns(list)) {
      if (!run.manifest) continue;
      manifests.add(run.manifest.id);
      if (knownIds.has(run.manifest.id)) sync.known++;
      else sync.insert.push({ dataset, run });
    }
  }
  sync.remove = ours.filter((r) => r.resticSnapshotId !== null && !manifests.has(r.resticSnapshotId));
  return sync;
}

function byDataset(snapshots: readonly Snapshot[]): Map<string, Snapshot[]> {
  const map = new Map<string, Snapshot[]>();
  for (const snapshot of snapshots) {
    const dataset = snapshot.tags.find((t) => t.startsWith('dataset='))?.slice('dataset='.length);
    if (!dataset) continue;
    map.set(dataset, [...(map.get(dataset) ?? []), snapshot]);
  }
  return map;
}

export interface CatalogRepositoryReport {
  repository: string;
  /** Complete runs found in the repository. */
  runs: number;
  known: number;
  inserted: { dataset: string; run: string; snapshotId: string; startedAt: string }[];
  removed: { dataset: string; run: string | null; snapshotId: string | null; startedAt: string }[];
  /** Runs whose manifest could not be read or did not match its tags: left out. */
  unreadable: { dataset: string; run: string; snapshotId: string; error: string }[];
  note?: string;
  error?: { kind: string; message: string };
}

export interface CatalogReport {
  dryRun: boolean;
  repositories: CatalogRepositoryReport[];
}

export interface RebuildCatalogOptions {
  /** Report what would change; change nothing. Default: false. */
  dryRun?: boolean;
  actor?: string;
}

/** Rebuilds the state store's recovery points from every repository the plan backs up to. */
export async function rebuildCatalog(
  context: ProtectContext,
  options: RebuildCatalogOptions = {},
): Promise<CatalogReport> {
  const report: CatalogReport = { dryRun: options.dryRun === true, repositories: [] };
  for (const { repository, datasets } of planPrune(context.plan).repositories) {
    report.repositories.push(
      await rebuildRepository(
        context,
        repository,
        datasets.map((d) => d.dataset),
        options,
      ),
    );
  }
  return report;
}

async function rebuildRepository(
  context: ProtectContext,
  repositoryId: string,
  planDatasets: string[],
  options: RebuildCatalogOptions,
): Promise<CatalogRepositoryReport> {
  const report: CatalogRepositoryReport = {
    repository: repositoryId,
    runs: 0,
    known: 0,
    inserted: [],
    removed: [],
    unreadable: [],
  };
  const state = await context.state();
  // Held throughout: a backup finishing, or a prune forgetting, between our reading the
  // repository and writing the state store would otherwise be recorded wrongly.
  const locks = options.dryRun
    ? []
    : await lockForMaintenance(
        context,
        repositoryId,
        planDatasets,
        `rebuild the catalog of repository ${repositoryId}`,
      );
  try {
    const repository = await context.repository(repositoryId).catch((error: unknown) => {
      if (error instanceof RepositoryNotCreatedError) return undefined;
      throw error;
    });
    const snapshots =
      repository && (await listOrNothing(() => repository.snapshots({ tags: planTags(context.plan) })));
    if (repository === undefined || snapshots === undefined) {
      report.note = 'the repository does not exist yet';
      return report;
    }
    // First what a crash left pending or half-pruned, so that a run completed in the
    // repository is completed in its own record rather than recorded a second time.
    if (!options.dryRun)
      for (const dataset of planDatasets) await reconcileDataset(context, dataset, { locked: true });
    const datasets = new Set([...planDatasets, ...byDataset(snapshots).keys()]);
    const records: SnapshotRecord[] = [];
    const unfinished: SnapshotRecord[] = [];
    for (const dataset of datasets) {
      records.push(...(await state.listSnapshots(dataset, { status: 'complete', limit: 1_000_000 })));
      unfinished.push(...(await state.listSnapshots(dataset, { status: 'failed', limit: 1_000_000 })));
    }
    const sync = planCatalogSync(repositoryId, snapshots, records);
    report.known = sync.known;
    report.runs = sync.known + sync.insert.length;
    for (const record of sync.remove) {
      report.removed.push({
        dataset: record.dataset,
        run: record.runId,
        snapshotId: record.resticSnapshotId,
        startedAt: record.startedAt,
      });
      if (!options.dryRun && record.resticSnapshotId)
        await state.deleteSnapshotByResticId(record.resticSnapshotId);
    }
    for (const { dataset, run } of sync.insert) {
      const manifestId = run.manifest!.id;
      let manifest: Manifest;
      try {
        manifest = await readManifest(repository, manifestId);
        if (manifest.run !== run.run || manifest.dataset !== dataset) {
          throw new OperationError(
            `its manifest names run ${manifest.run} of dataset ${manifest.dataset}, not its tags' run ${run.run} of ${dataset}`,
          );
        }
      } catch (cause) {
        const error = coerceError(cause);
        if (!(error instanceof LifeboatError)) throw error;
        report.unreadable.push({ dataset, run: run.run, snapshotId: manifestId, error: error.message });
        continue;
      }
      report.inserted.push({ dataset, run: run.run, snapshotId: manifestId, startedAt: manifest.startedAt });
      if (options.dryRun) continue;
      // A record of the same run that says it failed (an older Lifeboat recorded a run cut off
      // after its manifest that way) gives way to the complete one: one record per run.
      for (const stale of unfinished.filter((r) => r.runId === run.run && r.dataset === dataset))
        await state.deleteSnapshot(stale.id);
      await recordRun(context, repositoryId, run.manifest!, manifest);
    }
    if (!options.dryRun) {
      await state.appendAudit({
        actor: options.actor ?? actor(),
        action: 'catalog.rebuild',
        target: `repository:${repositoryId}`,
        outcome: 'ok',
        details: {
          runs: report.runs,
          inserted: report.inserted.map((i) => i.run),
          removed: report.removed.map((r) => r.run),
          unreadable: report.unreadable.map((u) => u.run),
        },
      });
    }
    return report;
  } catch (cause) {
    const error = coerceError(cause);
    if (!(error instanceof LifeboatError)) throw error;
    report.error = {
      kind: error.kind,
      message: error.hint ? `${error.message} (${error.hint})` : error.message,
    };
    return report;
  } finally {
    for (const lock of locks.reverse()) await lock.release();
  }
}

/** Records a run as the backup that wrote it would have: complete, with its manifest's units and fingerprint. */
async function recordRun(
  context: ProtectContext,
  repositoryId: string,
  snapshot: Snapshot,
  manifest: Manifest,
): Promise<void> {
  const state = await context.state();
  const record = await state.insertPendingSnapshot({
    dataset: manifest.dataset,
    repository: repositoryId,
    sourceType: manifest.sourceType,
    runId: manifest.run,
    startedAt: manifest.startedAt,
    tags: snapshot.tags.filter((t) => t !== TAG_COMPLETE && t !== TAG_PENDING),
  });
  await state.markSnapshotComplete(record.id, manifestCompletion(snapshot, manifest));
}
