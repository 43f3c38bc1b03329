/**
 * One logical run of a dataset: each unit of its source streamed straight into restic (no
 * temporary copy; see backup-units.ts), then the manifest; only then is the run complete,
 * in the repository (the manifest's tag) and in the state store. A failure part-way forgets
 * what the run wrote, records the error and leaves the repository as it was.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coerceError, describeError } from '../../../errors.js';
import { actor } from '../../audit.js';
import {
  failedResult,
  type BackupPlanItem,
  type DatasetBackupResult,
  type RunBackupOptions,
} from '../../backup-result.js';
import type { ProtectContext } from '../../context.js';
import { MANIFEST_FILENAME, MANIFEST_FORMAT, type Manifest, type ManifestUnit } from '../../manifest.js';
import { pausePoint } from '../../pause-point.js';
import { createSource } from '../../../stores/index.js';
import { storeUnits } from './backup-units.js';
import { labelsToTags, newRunId, type SnapshotLabels } from '../../tags.js';
import { privateTempDir } from '../../../system/private-temp.js';

export async function backupLogical(
  context: ProtectContext,
  item: BackupPlanItem,
  options: RunBackupOptions,
): Promise<DatasetBackupResult> {
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  const run = newRunId();
  const state = await context.state();
  const planVersion = await state.recordPlanVersion({
    contentHash: context.loaded.contentHash,
    planPath: context.loaded.file,
    organization: context.plan.organization,
    documentVersion:
      context.plan.document?.version === undefined ? null : String(context.plan.document.version),
  });
  const labels: Omit<SnapshotLabels, 'unit'> = {
    dataset: item.dataset,
    run,
    source: item.sourceType,
    plan: context.loaded.contentHash.slice(0, 12),
    organization: context.plan.organization,
  };
  const record = await state.insertPendingSnapshot({
    dataset: item.dataset,
    repository: item.repository,
    sourceType: item.sourceType,
    planVersionId: planVersion.id,
    runId: run,
    tags: labelsToTags({ ...labels, unit: MANIFEST_FILENAME }),
    // The same start time as the manifest's, so `catalog rebuild` restores the record exactly.
    startedAt: new Date(started).toISOString(),
  });
  const written: ManifestUnit[] = [];
  /** Every unit snapshot saved so far, to forget if the run fails. */
  const stored: string[] = [];
  const startedAt = new Date(started).toISOString();
  try {
    const repository = await context.repository(item.repository);
    await repository.init();
    const source = createSource(context.resolvedSource(item.dataset), {
      dataset: item.dataset,
      baseDir: context.planDir,
    });
    await source.check();
    // Measured while the units are stored (it reads every table, as the dump does: in
    // parallel the two take little more than the longer one). PostgreSQL measures the very
    // snapshot it dumps; other sources are measured live, exact for a source at rest (under
    // writes a restore is then proven by the plan's checks, see restore-proof).
    const capture = source.capture
      ? await source.capture()
      : { units: await source.units(), fingerprint: source.fingerprint(), close: async () => {} };
    capture.fingerprint.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    emit({ type: 'dataset-start', dataset: item.dataset, run, units: capture.units.length });
    await pausePoint('backup:units-ready');

    const { manifestResult, fingerprint } = await repository
      .session(async () => {
        written.push(
          ...(await storeUnits(capture.units, {
            repository,
            dataset: item.dataset,
            labels,
            emit,
            onStored: (snapshotId) => stored.push(snapshotId),
            ...(options.signal ? { signal: options.signal } : {}),
          })),
        );
        await pausePoint('backup:units-stored');
        // The capture stays open until the fingerprint is done: its queries read the
        // snapshot the capture holds.
        const fingerprint = await capture.fingerprint;
        await capture.close();
        const manifest: Manifest = {
          format: MANIFEST_FORMAT,
          dataset: item.dataset,
          run,
          organization: context.plan.organization,
          planHash: context.loaded.contentHash,
          sourceType: item.sourceType,
          startedAt,
          finishedAt: new Date().toISOString(),
          units: written,
          fingerprint,
        };
        const manifestResult = await storeManifest(
          repository,
          manifest,
          labelsToTags({ ...labels, unit: MANIFEST_FILENAME }),
        );
        return { manifestResult, fingerprint };
      })
      .finally(() => capture.close());
    await pausePoint('backup:manifest-stored');
    const bytesAdded = written.reduce((sum, u) => sum + u.bytesAdded, manifestResult.dataAdded);
    const bytesProcessed = written.reduce((sum, u) => sum + u.bytesProcessed, 0);
    await state.markSnapshotComplete(record.id, {
      resticSnapshotId: manifestResult.snapshotId,
      bytesAdded,
      totalBytes: bytesProcessed,
      fingerprint: fingerprint as unknown as Record<string, unknown>,
      units: written as unknown as Record<string, unknown>[],
    });
    const result: DatasetBackupResult = {
      dataset: item.dataset,
      run,
      repository: item.repository,
      ok: true,
      snapshotId: manifestResult.snapshotId,
      bytesAdded,
      bytesProcessed,
      durationMs: Date.now() - started,
      units: written,
    };
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: 'backup.run',
      target: `dataset:${item.dataset}`,
      outcome: 'ok',
      details: { run, snapshot: manifestResult.snapshotId, bytesAdded, bytesProcessed },
    });
    emit({ type: 'dataset-done', result });
    return result;
  } catch (cause) {
    const error = coerceError(cause);
    const message = describeError(error);
    // The run's unit snapshots belong to no complete run: remove them now rather than leave
    // them to prune.
    if (stored.length > 0) {
      await context
        .repository(item.repository)
        .then((repository) => repository.forgetIds(stored))
        .catch(() => {});
    }
    await state.markSnapshotFailed(record.id, { error: message });
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: 'backup.run',
      target: `dataset:${item.dataset}`,
      outcome: options.signal?.aborted ? 'interrupted' : 'failed',
      details: { run, error: message },
    });
    emit({ type: 'dataset-failed', dataset: item.dataset, error: message });
    return failedResult(item, run, started, message);
  }
}

/**
 * The manifest closes the run: the one snapshot tagged complete, stored from a local file
 * that restic reads itself, so that it can be tagged complete as it is saved (see
 * `backupFile`). Before, every unit was retagged complete too: two more restic commands per
 * unit, each deriving the repository key anew (0.5 to 1 s on the development machine).
 */
async function storeManifest(
  repository: Awaited<ReturnType<ProtectContext['repository']>>,
  manifest: Manifest,
  tags: string[],
) {
  const dir = privateTempDir('manifest-');
  try {
    const file = join(dir, MANIFEST_FILENAME);
    writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n');
    return await repository.backupFile({ path: file, filename: MANIFEST_FILENAME, tags });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
