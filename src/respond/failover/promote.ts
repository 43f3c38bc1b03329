/**
 * Promotion and what comes just before it in a switchover: waiting until the standby has
 * replayed everything the primary wrote.
 */
import { OperationError } from '../../errors.js';
import type { ManagedServer } from './server.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';

export interface Promotion {
  /** Epoch ms when promotion was asked for: from then on, the old primary must acknowledge nothing. */
  startedAt: number;
  /** Epoch ms when the standby had left recovery and could take writes. */
  promotedAt: number;
}

/**
 * Promotes `standby` with `pg_promote(wait => true)`, which returns once it has left
 * recovery, then checks pg_is_in_recovery() to be sure. A standby already promoted is an
 * error: that would hide a second primary.
 */
export async function promoteStandby(standby: ManagedServer, timeoutSeconds = 60): Promise<Promotion> {
  const [state] = await query(standby.url, 'SELECT pg_is_in_recovery() AS recovering', { timeoutMs: 5000 });
  if (state?.recovering !== true)
    throw new OperationError(`${standby.name} is not in recovery: it was promoted already`);
  const startedAt = Date.now();
  const [promoted] = await query(
    standby.url,
    `SELECT pg_promote(wait => true, wait_seconds => ${Math.max(1, Math.round(timeoutSeconds))}) AS done`,
    { timeoutMs: (timeoutSeconds + 10) * 1000 },
  );
  if (promoted?.done !== true)
    throw new OperationError(`${standby.name} did not finish promotion within ${timeoutSeconds} s`, {
      hint: 'Its log says why (a long replay, a missing WAL segment); it may still finish: check pg_is_in_recovery().',
    });
  await pollUntil(
    async () =>
      (await query(standby.url, 'SELECT pg_is_in_recovery() AS r', { timeoutMs: 5000 }))[0]?.r === false,
    timeoutSeconds * 1000,
    `${standby.name} still reports recovery after pg_promote`,
    { intervalMs: 20 },
  );
  return { startedAt, promotedAt: Date.now() };
}

/**
 * The LSN where the new timeline forked, from its history file (`pg_wal/0000000N.history`,
 * last line `PARENT_TLI<TAB>LSN<TAB>reason`). WAL the old primary wrote past it is lost.
 * The end-of-recovery checkpoint that names the new timeline may not be written yet right
 * after promotion, so the newest history file is found by listing pg_wal.
 */
export async function switchLsn(server: ManagedServer): Promise<string | null> {
  try {
    const [file] = await query(
      server.url,
      `SELECT name FROM pg_ls_waldir() WHERE name LIKE '%.history' ORDER BY name DESC LIMIT 1`,
    );
    if (!file?.name) return null;
    const [content] = await query(server.url, `SELECT pg_read_file('pg_wal/' || $1) AS text`, {
      params: [file.name],
    });
    const lines = String(content?.text ?? '')
      .trim()
      .split('\n');
    return lines[lines.length - 1]?.split('\t')[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Switchover: waits until the standby has replayed all the primary wrote (the primary takes
 * no writes now: the router holds its clients), so promoting it loses nothing.
 */
export async function waitForCatchUp(
  primary: ManagedServer,
  standby: ManagedServer,
  timeoutMs = 30_000,
): Promise<void> {
  await pollUntil(
    async () => {
      const [row] = await query(
        primary.url,
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS behind
           FROM pg_stat_replication WHERE application_name = $1 ORDER BY backend_start DESC LIMIT 1`,
        { params: [standby.name], timeoutMs: 5000 },
      );
      return row !== undefined && Number(row.behind) <= 0;
    },
    timeoutMs,
    `${standby.name} did not replay everything ${primary.name} wrote`,
    { intervalMs: 20 },
  );
}
