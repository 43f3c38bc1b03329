/**
 * The point-in-time recovery drill (`lifeboat drill pitr --sandbox`): proves, end to end on
 * a throwaway primary, that WAL archiving, backup and point-in-time restore give back
 * exactly the data written before a target, by time, by LSN and by restore point.
 *
 * Markers 1..5 are written a moment apart, each in its own WAL segment (a switch after
 * each, so all are archived). The targets sit strictly between marker 3 and marker 4; a
 * restore is right only when markers 1, 2, 3 and nothing else are in the copy.
 */
import { join } from 'node:path';
import { coerceError, UsageError } from '../errors.js';
import { describeError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { backupPhysical } from '../protect/methods/physical/backup.js';
import { createRestorePoint } from '../protect/methods/physical/restore-point.js';
import { restorePhysical, type RestorePhysicalOptions } from '../protect/methods/physical/restore.js';
import { restoredQuery, stopRestoredCluster } from '../engines/pgbackrest/restored-cluster.js';
import { startSandboxPrimary } from '../protect/methods/physical/sandbox-primary.js';
import { osUser, removeDir, runningAsRoot } from '../system/instance.js';
import { writeMarkers, type MarkerRun } from './pitr-markers.js';

export interface PitrDrillOptions {
  /** Run against a throwaway primary. The only mode so far; required so that intent is explicit. */
  sandbox: boolean;
  /** Pause between two markers. Default: 1200 ms. */
  markerGapMs?: number;
  /** Progress lines for people (stderr in the CLI). */
  onEvent?: (event: PitrDrillEvent) => void;
}

/** A step of the drill began. */
export type PitrDrillEvent = { type: 'step'; message: string };

export type PitrVariantType = 'time' | 'lsn' | 'restore-point';

export interface PitrVariantResult {
  type: PitrVariantType;
  target: string;
  ok: boolean;
  markersFound: number[];
  /** From `pgbackrest restore` until the copy is promoted. */
  restoreSeconds: number | undefined;
  /** Of which WAL replay. */
  recoverySeconds: number | undefined;
  /** archive_mode as the restored copy runs it: must be `off`. */
  archiveMode: string | undefined;
  set: string | undefined;
  error?: string;
}

export interface PitrDrillResult {
  ok: boolean;
  dataset: string;
  /** The time target (the headline variant). */
  target: string;
  markersExpected: number[];
  /** Found by the time variant. */
  markersFound: number[];
  /** Of the time variant. */
  restoreSeconds: number | undefined;
  variants: PitrVariantResult[];
  backup: { label: string; type: string; seconds: number } | undefined;
  /** No restored copy pushed WAL or a timeline history file into the repository. */
  repositoryUntouched: boolean;
  markers: { n: number; at: string }[];
  durationSeconds: number;
  error?: string;
}

const EXPECTED = [1, 2, 3];
const DRILL_DATASET = 'pitr-drill';

export async function runPitrDrill(options: PitrDrillOptions): Promise<PitrDrillResult> {
  if (!options.sandbox) {
    throw new UsageError('the PITR drill runs on a throwaway primary only: pass --sandbox', {
      hint: 'lifeboat drill pitr --sandbox [--json]',
    });
  }
  const step = (message: string) => options.onEvent?.({ type: 'step', message });
  const started = Date.now();
  step('starting a throwaway primary');
  const primary = await startSandboxPrimary({ datasets: [DRILL_DATASET] });
  const { context } = primary;
  const user = runningAsRoot() ? osUser('postgres') : undefined;
  const variants: PitrVariantResult[] = [];
  let backup: PitrDrillResult['backup'];
  let markers: MarkerRun | undefined;
  let error: string | undefined;
  try {
    await primary.pg.psqlScript(
      'CREATE TABLE pitr_markers (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());',
    );
    step('archiving on, stanza, full backup');
    const made = await backupPhysical(context, DRILL_DATASET, {
      type: 'full',
      archiving: { confirmed: true, restart: primary.restart, actor: 'drill:pitr' },
      actor: 'drill:pitr',
    });
    backup = { label: made.label, type: made.type, seconds: made.durationMs / 1000 };
    step(`backup ${made.label} in ${backup.seconds.toFixed(1)} s; writing markers`);
    markers = await writeMarkers(primary.pg, {
      count: 5,
      gapMs: options.markerGapMs ?? 1200,
      after: 3,
      restorePoint: (name) => createRestorePoint(context, DRILL_DATASET, name, { actor: 'drill:pitr' }),
    });
    const variantTargets: [PitrVariantType, string, Partial<RestorePhysicalOptions>][] = [
      ['time', markers.targetTime, { at: markers.targetTime }],
      ['lsn', markers.targetLsn, { lsn: markers.targetLsn }],
      ['restore-point', markers.restorePoint, { restorePoint: markers.restorePoint }],
    ];
    for (const [type, target, restoreOptions] of variantTargets) {
      step(`restoring to ${type} ${target}`);
      const result = await restoreVariant(context, type, target, {
        dataset: DRILL_DATASET,
        ...restoreOptions,
        toDataDir: join(primary.workDir, `restore-${type}`, 'data'),
        timeoutSeconds: 120,
        actor: 'drill:pitr',
      });
      step(
        `  ${result.ok ? 'ok' : 'WRONG'}: markers [${result.markersFound.join(', ')}]${result.restoreSeconds === undefined ? '' : ` in ${result.restoreSeconds.toFixed(1)} s`}${result.error ? `: ${result.error}` : ''}`,
      );
      variants.push(result);
    }
  } catch (cause) {
    error = describeError(coerceError(cause));
  } finally {
    // Restored copies first: they read the primary's repository through its config.
    for (const type of ['time', 'lsn', 'restore-point']) {
      const dataDir = join(primary.workDir, `restore-${type}`, 'data');
      await stopRestoredCluster({ dataDir, user, binDir: primary.pg.binDir }, 'immediate').catch(
        () => undefined,
      );
      removeDir(dataDir);
    }
  }
  let repositoryUntouched = false;
  try {
    repositoryUntouched = primary.filesOnOtherTimelines(DRILL_DATASET).length === 0;
  } finally {
    await primary.cleanup();
  }
  const headline = variants.find((v) => v.type === 'time');
  const ok =
    error === undefined && variants.length === 3 && variants.every((v) => v.ok) && repositoryUntouched;
  return {
    ok,
    dataset: DRILL_DATASET,
    target: markers?.targetTime ?? '',
    markersExpected: EXPECTED,
    markersFound: headline?.markersFound ?? [],
    restoreSeconds: headline?.restoreSeconds,
    variants,
    backup,
    repositoryUntouched,
    markers: markers?.markers ?? [],
    durationSeconds: (Date.now() - started) / 1000,
    ...(error !== undefined ? { error } : {}),
  };
}

async function restoreVariant(
  context: ProtectContext,
  type: PitrVariantType,
  target: string,
  options: RestorePhysicalOptions,
): Promise<PitrVariantResult> {
  const result: PitrVariantResult = {
    type,
    target,
    ok: false,
    markersFound: [],
    restoreSeconds: undefined,
    recoverySeconds: undefined,
    archiveMode: undefined,
    set: undefined,
  };
  try {
    const restored = await restorePhysical(context, options);
    result.restoreSeconds = restored.seconds;
    result.recoverySeconds = restored.recoverySeconds;
    result.set = restored.set;
    const cluster = {
      socketDir: restored.socketDir,
      port: restored.port,
      user: runningAsRoot() ? osUser('postgres') : undefined,
    };
    const rows = await restoredQuery(cluster, 'SELECT n FROM pitr_markers ORDER BY n');
    result.markersFound = rows.map((r) => Number(r[0]));
    result.archiveMode = (await restoredQuery(cluster, 'SHOW archive_mode'))[0]?.[0] ?? undefined;
    // A copy that archived would push this switch (and its timeline history) to the repository.
    await restoredQuery(cluster, 'SELECT pg_switch_wal()');
    result.ok =
      result.archiveMode === 'off' &&
      result.markersFound.length === EXPECTED.length &&
      result.markersFound.every((n, i) => n === EXPECTED[i]);
  } catch (cause) {
    result.error = describeError(coerceError(cause));
  }
  return result;
}
