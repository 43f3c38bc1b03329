/**
 * Named restore points (`lifeboat restore-point create NAME --dataset ID`): a marker in the
 * WAL that a restore can later stop at (`--restore-point NAME`), typically taken right
 * before a risky migration. The WAL segment is switched at once so the marker reaches the
 * repository now rather than when the segment fills.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError } from '../../../errors.js';
import { actor } from '../../audit.js';
import { describeError } from '../../../errors.js';
import type { ProtectContext } from '../../context.js';
import { psqlRows, sqlLiteral } from '../../../stores/postgres/psql.js';
import { preparePhysicalDataset } from './dataset.js';
import { checkRestorePointName } from '../../../engines/pgbackrest/target.js';

export const RESTORE_POINT_AUDIT_ACTION = 'restore-point.create';

export interface RestorePointResult {
  dataset: string;
  name: string;
  /** Where the marker is in the WAL. */
  lsn: string;
  createdAt: string;
  /** The segment that holds it. */
  walFile: string;
  /** The segment reached the repository within the wait. */
  archived: boolean;
}

export async function createRestorePoint(
  context: ProtectContext,
  datasetId: string,
  name: string,
  options: { waitArchivedSeconds?: number; actor?: string } = {},
): Promise<RestorePointResult> {
  checkRestorePointName(name);
  const dataset = await preparePhysicalDataset(context, datasetId);
  const state = await context.state();
  try {
    const [row] = await psqlRows(
      dataset.source,
      `SELECT lsn::text, pg_walfile_name(lsn), clock_timestamp() FROM pg_create_restore_point(${sqlLiteral(name)}) AS lsn`,
    );
    const [lsn, walFile, createdAt] = (row ?? []).map((v) => v ?? '');
    if (!lsn || !walFile) throw new Error('pg_create_restore_point returned no LSN');
    await psqlRows(dataset.source, 'SELECT pg_switch_wal()');
    const archived = await waitArchived(dataset.source, walFile, (options.waitArchivedSeconds ?? 30) * 1000);
    const result: RestorePointResult = {
      dataset: datasetId,
      name,
      lsn,
      createdAt: new Date(createdAt ?? '').toISOString(),
      walFile,
      archived,
    };
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: RESTORE_POINT_AUDIT_ACTION,
      target: `dataset:${datasetId}`,
      outcome: 'ok',
      details: { ...result },
    });
    return result;
  } catch (cause) {
    await state
      .appendAudit({
        actor: options.actor ?? actor(),
        action: RESTORE_POINT_AUDIT_ACTION,
        target: `dataset:${datasetId}`,
        outcome: 'failed',
        details: { name, error: describeError(coerceError(cause)) },
      })
      .catch(() => undefined);
    throw cause;
  }
}

/** Polls pg_stat_archiver until `walFile` (or a later segment) is archived. */
async function waitArchived(
  source: Parameters<typeof psqlRows>[0],
  walFile: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await psqlRows(source, 'SELECT last_archived_wal FROM pg_stat_archiver');
    const last = row?.[0]?.slice(0, 24);
    if (last && /^[0-9A-F]{24}$/.test(last) && last >= walFile) return true;
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
}

/** The LSN Lifeboat recorded for the newest restore point of that name, if it made one. */
export async function findRestorePointLsn(
  context: ProtectContext,
  datasetId: string,
  name: string,
): Promise<string | undefined> {
  const entries = await (
    await context.state()
  ).listAudit({
    action: RESTORE_POINT_AUDIT_ACTION,
    target: `dataset:${datasetId}`,
    limit: 1000,
  });
  const found = entries.find((e) => e.outcome === 'ok' && e.details?.name === name);
  return typeof found?.details?.lsn === 'string' ? found.details.lsn : undefined;
}
