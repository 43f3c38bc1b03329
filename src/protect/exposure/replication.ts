/**
 * How far a dataset's streaming standby runs behind, as its primary sees it: the primary's
 * pg_stat_replication row for that standby. The plan names the standby by a URL or by a
 * name; a URL lets Lifeboat ask the standby which replication slot and application_name it
 * streams with (and whether it is a standby at all), a bare name is taken as both.
 */
import { LifeboatError } from '../../errors.js';
import { parsePgUrl, psqlRows, sqlLiteral, type PgConnection } from '../../stores/postgres/psql.js';

export type ReplicationStatus = 'streaming' | 'not-streaming' | 'unreachable' | 'not-standby' | 'unknown';

/** Why something could not be read, with where it was read from when known. */
export interface LiveError {
  message: string;
  host: string | null;
  port: number | null;
}

export interface ReplicationReport {
  /** The standby as the plan names it; a URL without its password. */
  standby: string;
  status: ReplicationStatus;
  /** One sentence for people. */
  reason: string;
  /** The application_name the primary knows the standby by. */
  applicationName: string | null;
  /** pg_stat_replication.state (`streaming`, `catchup`, `startup`, `backup`), when a row exists. */
  state: string | null;
  /** pg_stat_replication.sync_state (`async`, `sync`, `potential`, `quorum`). */
  syncState: string | null;
  /** WAL the primary has written that the standby has not replayed. */
  replayLagBytes: number | null;
  /**
   * pg_stat_replication.replay_lag; 0 when nothing is left to replay (PostgreSQL stops
   * reporting a lag once an idle standby has caught up); null when unknown.
   */
  replayLagSeconds: number | null;
  /** `replication.max_lag` in seconds; null when the plan sets none. */
  maxLagSeconds: number | null;
  /** False when the replay lag is above max_lag; null when either is unknown. */
  withinMaxLag: boolean | null;
  error: LiveError | null;
}

/** Where to find the standby's row on the primary. */
interface StandbyIdentity {
  slotName: string | null;
  applicationName: string;
}

export const isPgUrl = (value: string) => /^postgres(?:ql)?:\/\//i.test(value);

/** The standby as safe to print: a URL without its password. */
export function displayStandby(standby: string): string {
  if (!isPgUrl(standby)) return standby;
  try {
    return parsePgUrl(standby).uri;
  } catch {
    return 'postgres://(a url that does not parse)';
  }
}

/**
 * The error as a report carries it: host and port from Lifeboat's own errors (which name
 * them), else from the connection that was being used.
 */
export function liveError(error: unknown, conn?: PgConnection): LiveError {
  const details = error instanceof LifeboatError ? error.details : undefined;
  const host = typeof details?.host === 'string' ? details.host : (conn?.host ?? null);
  const port = typeof details?.port === 'number' ? details.port : (conn?.port ?? null);
  return { message: error instanceof Error ? error.message : String(error), host, port };
}

export interface ObserveReplicationOptions {
  /** `replication.max_lag` in seconds. Default: null (none). */
  maxLagSeconds?: number | null;
  /**
   * The standby's application_name (`replication.standby_name`). Default: null, read from
   * the standby itself.
   */
  applicationName?: string | null;
}

/**
 * Reads the lag of `standby` (the plan's `replication.standby`, secrets resolved: a URL, or
 * a name taken as application_name and slot) behind `primary`. Never throws: what could
 * not be read is reported with its error.
 */
export async function observeReplication(
  primary: PgConnection,
  standby: string,
  options: ObserveReplicationOptions = {},
): Promise<ReplicationReport> {
  const maxLagSeconds = options.maxLagSeconds ?? null;
  const named = options.applicationName ?? null;
  const base = emptyReport(displayStandby(standby), maxLagSeconds);
  let identity: StandbyIdentity = { slotName: named ?? standby, applicationName: named ?? standby };
  if (isPgUrl(standby)) {
    const conn = parsePgUrl(standby);
    try {
      const seen = await identifyStandby(conn, named);
      if (!seen) {
        return {
          ...base,
          status: 'not-standby',
          reason: `${conn.host}:${conn.port} is not in recovery: it is not a standby`,
        };
      }
      identity = seen;
    } catch (error) {
      // The error names host and port: `PostgreSQL at host:port is unreachable: ...`.
      const found = liveError(error, conn);
      return { ...base, status: 'unreachable', reason: found.message, error: found };
    }
  }
  let row: (string | null)[] | undefined;
  try {
    [row] = await psqlRows(primary, primaryRowSql(identity));
  } catch (error) {
    const found = liveError(error, primary);
    return {
      ...base,
      status: 'unknown',
      reason: `its lag cannot be read on the primary: ${found.message}`,
      applicationName: identity.applicationName,
      error: found,
    };
  }
  if (!row) {
    return {
      ...base,
      status: 'not-streaming',
      applicationName: identity.applicationName,
      reason: `the primary streams to no standby named ${identity.applicationName}${identity.slotName ? ` or using slot ${identity.slotName}` : ''}`,
    };
  }
  return replicationFromRow(base, identity, row, maxLagSeconds);
}

/** A report with nothing measured, its keys in the order every report has them. */
export function emptyReport(standby: string, maxLagSeconds: number | null): ReplicationReport {
  return {
    standby,
    status: 'unknown',
    reason: 'not measured',
    applicationName: null,
    state: null,
    syncState: null,
    replayLagBytes: null,
    replayLagSeconds: null,
    maxLagSeconds,
    withinMaxLag: null,
    error: null,
  };
}

function replicationFromRow(
  base: ReplicationReport,
  identity: StandbyIdentity,
  row: (string | null)[],
  maxLagSeconds: number | null,
): ReplicationReport {
  const [applicationName, state, syncState, bytesText, secondsText] = row;
  const bytes = bytesText === null || bytesText === undefined ? null : Math.max(0, Number(bytesText));
  const reported = secondsText === null || secondsText === undefined ? null : Number(secondsText);
  const seconds = reported ?? (bytes === 0 ? 0 : null);
  const withinMaxLag = maxLagSeconds === null || seconds === null ? null : seconds <= maxLagSeconds;
  const name = applicationName ?? identity.applicationName;
  const lag = `${bytes ?? '?'} bytes, ${seconds === null ? '?' : `${Math.round(seconds * 10) / 10} s`} behind`;
  const streaming = state === 'streaming';
  return {
    ...base,
    status: streaming ? 'streaming' : 'not-streaming',
    reason: streaming
      ? `${name} streams (${syncState ?? '?'}), replay ${lag}`
      : `${name} is connected but ${state ?? 'in an unknown state'}, not streaming; replay ${lag}`,
    applicationName: name,
    state: state ?? null,
    syncState: syncState ?? null,
    replayLagBytes: bytes,
    replayLagSeconds: seconds,
    withinMaxLag,
  };
}

/**
 * The slot and application_name the standby streams with (pg_stat_wal_receiver; without
 * the rights to read it, libpq's default application_name: cluster_name, else
 * `walreceiver`), or undefined when the server is not in recovery. The plan's name, when
 * it gives one, wins.
 */
async function identifyStandby(
  conn: PgConnection,
  named: string | null,
): Promise<StandbyIdentity | undefined> {
  const [row] = await psqlRows(
    conn,
    `SELECT pg_is_in_recovery(), (SELECT slot_name FROM pg_stat_wal_receiver),
            (SELECT conninfo FROM pg_stat_wal_receiver), current_setting('cluster_name')`,
  );
  if (row?.[0] !== 't') return undefined;
  const fromConninfo = /(?:^|\s)application_name=([^\s]+)/.exec(row[2] ?? '')?.[1];
  return {
    slotName: row[1] || null,
    applicationName: named ?? fromConninfo ?? (row[3] || 'walreceiver'),
  };
}

/** The standby's pg_stat_replication row on the primary: by its slot first, else its application_name. */
function primaryRowSql(identity: StandbyIdentity): string {
  const slot = identity.slotName === null ? 'NULL' : sqlLiteral(identity.slotName);
  const app = sqlLiteral(identity.applicationName);
  return `SELECT r.application_name, r.state, r.sync_state,
                 CASE WHEN pg_is_in_recovery() THEN NULL
                      ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8 END,
                 extract(epoch FROM r.replay_lag)::float8
            FROM pg_stat_replication r
            LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
           WHERE s.slot_name = ${slot} OR r.application_name = ${app}
           ORDER BY (s.slot_name = ${slot}) IS TRUE DESC, r.backend_start DESC
           LIMIT 1`;
}
