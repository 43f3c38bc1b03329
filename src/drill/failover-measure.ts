/**
 * What a failover drill measures after the fact: acknowledged writes missing on the new
 * primary (the RPO as a count, a time window and WAL bytes), and whether the old primary was
 * fenced: it acknowledged nothing once promotion began, it is stopped, and every row it has
 * that the new primary lacks was written before promotion.
 */
import { join } from 'node:path';
import { startPostgres } from '../stores/postgres/sandbox.js';
import { parsePgUrl } from '../stores/postgres/psql.js';
import { clearStalePidFile, isRunning, type ManagedServer } from '../respond/failover/server.js';
import { query } from '../stores/postgres/sql.js';
import { writesTable, type Ack } from './failover-writer.js';

export interface LostWrites {
  count: number;
  /** The first few lost ids, for the report. */
  ids: number[];
  /** From the oldest lost acknowledgement to the fault: how far back writes were lost. */
  windowSeconds: number;
}

export async function lostWrites(
  acks: readonly Ack[],
  newPrimaryUrl: string,
  faultAt: number,
  table = writesTable,
): Promise<LostWrites> {
  const rows = await query(newPrimaryUrl, `SELECT id FROM ${table}`);
  const present = new Set(rows.map((r) => Number(r.id)));
  const lost = acks.filter((a) => !present.has(a.id));
  const oldest = lost.reduce((min, a) => Math.min(min, a.at), Infinity);
  return {
    count: lost.length,
    ids: lost.slice(0, 20).map((a) => a.id),
    windowSeconds: lost.length ? Math.max(0, (faultAt - oldest) / 1000) : 0,
  };
}

/**
 * WAL the old primary wrote past the point where the new primary's timeline forked: read
 * with pg_waldump from the fork to the end of the old primary's WAL. null when it cannot be
 * told (no data directory, no fork point).
 */
export async function lostWalBytes(old: ManagedServer, forkLsn: string | null): Promise<number | null> {
  if (!forkLsn) return null;
  const control = await old.runBin('pg_controldata', ['-D', old.dataDir]);
  const timeline = /Latest checkpoint's TimeLineID:\s+(\d+)/.exec(control.stdout)?.[1];
  if (control.code !== 0 || !timeline) return null;
  const dump = await old.runBin('pg_waldump', [
    '-p',
    join(old.dataDir, 'pg_wal'),
    '-t',
    timeline,
    '-s',
    forkLsn,
    '-q',
  ]);
  const message = dump.stderr;
  if (/could not find a valid record after/i.test(message)) return 0;
  // "error in WAL record at A/B: invalid record length at C/D: ...": the end is the last LSN named.
  const positions = [...message.matchAll(/at ([0-9A-F]+\/[0-9A-F]+)/gi)].map((m) => m[1]!);
  const end = positions[positions.length - 1];
  if (!end) return null;
  return Math.max(0, lsnToNumber(end) - lsnToNumber(forkLsn));
}

export function lsnToNumber(lsn: string): number {
  const [high = '0', low = '0'] = lsn.split('/');
  return parseInt(high, 16) * 2 ** 32 + parseInt(low, 16);
}

export interface FenceCheck {
  /** The verdict: nothing acknowledged by the old primary after promotion began, and it is down. */
  fenced: boolean;
  acksFromOldAfterPromotion: number;
  oldPrimaryStopped: boolean;
  /** Rows on the old primary, missing on the new one, written after promotion began (null: not inspected). */
  oldRowsAfterPromotion: number | null;
  /** Rows on the old primary missing on the new one, written before promotion: the unreplicated tail. */
  oldRowsBeforePromotion: number | null;
  /** Why the old primary's rows could not be inspected. */
  inspectionError?: string;
}

/**
 * Checks the fence. The post-mortem starts the old data directory on a throwaway port (the
 * sandbox's copy; crash recovery replays what it had) and compares its rows with the new
 * primary's: a sandbox-only inspection, never done to a real old primary.
 */
export async function checkFence(options: {
  acks: readonly Ack[];
  old: ManagedServer;
  /** The old primary acknowledged this write. */
  fromOld(ack: Ack): boolean;
  newPrimaryUrl: string;
  promotionStartedAt: number;
  /** Start a copy of the old data directory to compare rows: the sandbox's own servers only. */
  inspect: boolean;
}): Promise<FenceCheck> {
  const acksFromOldAfterPromotion = options.acks.filter(
    (a) => options.fromOld(a) && a.at >= options.promotionStartedAt,
  ).length;
  const oldPrimaryStopped = !isRunning(options.old.dataDir);
  let after: number | null = null;
  let before: number | null = null;
  if (options.inspect && oldPrimaryStopped) {
    const inspected = await inspectOldRows(
      options.old.dataDir,
      options.newPrimaryUrl,
      options.promotionStartedAt,
    );
    if (inspected) ({ after, before } = inspected);
  }
  return {
    fenced: acksFromOldAfterPromotion === 0 && oldPrimaryStopped && (after ?? 0) === 0,
    acksFromOldAfterPromotion,
    oldPrimaryStopped,
    oldRowsAfterPromotion: after,
    oldRowsBeforePromotion: before,
  };
}

async function inspectOldRows(
  dataDir: string,
  newPrimaryUrl: string,
  promotionStartedAt: number,
): Promise<{ after: number; before: number }> {
  clearStalePidFile(dataDir);
  // The old primary's roles: the same password as the new primary's, its standby.
  const password = parsePgUrl(newPrimaryUrl).password;
  const copy = await startPostgres({ dataDir, ...(password === undefined ? {} : { password }) });
  try {
    const [oldRows, newRows] = await Promise.all([
      query(
        copy.urlFor('drill'),
        `SELECT id, (extract(epoch FROM created_at) * 1000)::float8 AS at FROM ${writesTable}`,
      ),
      query(newPrimaryUrl, `SELECT id FROM ${writesTable}`),
    ]);
    const present = new Set(newRows.map((r) => Number(r.id)));
    const missing = oldRows.filter((r) => !present.has(Number(r.id)));
    const after = missing.filter((r) => Number(r.at) >= promotionStartedAt).length;
    return { after, before: missing.length - after };
  } finally {
    await copy.stop();
  }
}
