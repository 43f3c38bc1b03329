/**
 * The PITR drill's markers: rows written at known times, each followed by a WAL switch so
 * that it reaches the archive at once, and the three targets taken strictly between two of
 * them (a time, an LSN, a named restore point).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../errors.js';
import type { PostgresInstance } from '../stores/postgres/sandbox.js';

export interface MarkerRun {
  markers: { n: number; at: string }[];
  /** ISO time after marker `after` committed and before the next one started. */
  targetTime: string;
  /** The WAL insert position right after marker `after` committed. */
  targetLsn: string;
  restorePoint: string;
}

export interface MarkerOptions {
  count: number;
  gapMs: number;
  /** The targets fall after this marker and before the next. */
  after: number;
  /** Creates the named restore point (and switches WAL). */
  restorePoint: (name: string) => Promise<unknown>;
}

const utcNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export async function writeMarkers(pg: PostgresInstance, options: MarkerOptions): Promise<MarkerRun> {
  const markers: MarkerRun['markers'] = [];
  let targetTime = '';
  let targetLsn = '';
  const restorePoint = `lifeboat-drill-after-${options.after}`;
  let lastSegment = '';
  for (let n = 1; n <= options.count; n++) {
    const [row] = await pg.psql(
      `INSERT INTO pitr_markers (n) VALUES (${n}) RETURNING to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    );
    markers.push({ n, at: row?.[0] ?? '' });
    if (n === options.after) {
      // The insert position, not pg_current_wal_lsn() (the write position), which may
      // still be before this marker's commit record.
      targetLsn = (await pg.psql('SELECT pg_current_wal_insert_lsn()'))[0]?.[0] ?? '';
      await options.restorePoint(restorePoint);
      await sleep(options.gapMs / 2);
      targetTime = (await pg.psql(`SELECT ${utcNow}`))[0]?.[0] ?? '';
      await sleep(options.gapMs / 2);
    } else {
      lastSegment = (await pg.psql('SELECT pg_walfile_name(pg_switch_wal())'))[0]?.[0] ?? '';
      if (n < options.count) await sleep(options.gapMs);
    }
  }
  await waitArchived(pg, lastSegment, 60_000);
  return { markers, targetTime, targetLsn, restorePoint };
}

/** Polls pg_stat_archiver until `segment` is archived: the last marker must be in the repository. */
async function waitArchived(pg: PostgresInstance, segment: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await pg.psql(
      'SELECT last_archived_wal, failed_count, last_failed_wal FROM pg_stat_archiver',
    );
    const last = row?.[0]?.slice(0, 24) ?? '';
    if (last >= segment) return;
    if (Date.now() > deadline) {
      throw new OperationError(`WAL segment ${segment} was not archived within ${timeoutMs / 1000} s`, {
        details: { lastArchived: row?.[0], failedCount: row?.[1], lastFailed: row?.[2] },
      });
    }
    await sleep(100);
  }
}
