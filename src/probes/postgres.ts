/**
 * PostgreSQL: connect (with the check's deadline on connect and query), run one query, and
 * say which role the server plays — a standby answers queries too, and a probe that calls a
 * standby "up" while the primary is gone would hide the outage failover exists for.
 * With `lag`, replication lag is measured as well: on a primary the largest replay lag of its
 * standbys, on a standby the time since it last replayed a transaction it was behind on.
 */
import pg from 'pg';
import { dropClient, safeHost } from '../stores/postgres/sql.js';
import { abortMessage, elapsed, failureText, type Probe, type ProbeDetails } from './probe.js';

export interface PostgresProbeConfig {
  /** A libpq URI, secrets already resolved. */
  url: string;
  /** Measure replication lag: the plan sets `replication` on the probe's dataset. */
  lag: boolean;
}

const LAG_ON_PRIMARY = `SELECT count(*)::int AS standbys,
  coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 AS lag_seconds FROM pg_stat_replication`;
const LAG_ON_STANDBY = `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8 AS lag_seconds`;

export function postgresProbe(id: string, config: PostgresProbeConfig, timeoutMs: number): Probe {
  const target = `PostgreSQL at ${safeHost(config.url)}`;
  return {
    id,
    kind: 'postgres',
    target,
    async check(signal) {
      const start = process.hrtime.bigint();
      const client = new pg.Client({
        connectionString: config.url,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: 'lifeboat-probe',
      });
      // An error event after the server went away must not crash the process.
      client.on('error', () => undefined);
      const onAbort = (): void => dropClient(client);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await client.connect();
        const rows = (await client.query('SELECT pg_is_in_recovery() AS standby')).rows as {
          standby: boolean;
        }[];
        const role = rows[0]?.standby ? 'standby' : 'primary';
        const details: Record<string, string | number | boolean | null> = { role };
        if (config.lag) Object.assign(details, await measureLag(client, role));
        const lag = typeof details.lagSeconds === 'number' ? `, lag ${details.lagSeconds} s` : '';
        return {
          ok: true,
          latencyMs: elapsed(start),
          message: `${target} answers as ${role}${lag}`,
          details,
        };
      } catch (error) {
        const message = signal.aborted ? abortMessage(signal, target) : `${target}: ${failureText(error)}`;
        return { ok: false, latencyMs: elapsed(start), message };
      } finally {
        signal.removeEventListener('abort', onAbort);
        dropClient(client);
      }
    },
  };
}

async function measureLag(client: pg.Client, role: 'primary' | 'standby'): Promise<ProbeDetails> {
  if (role === 'standby') {
    const row = (await client.query(LAG_ON_STANDBY)).rows[0] as { lag_seconds: number } | undefined;
    return { lagSeconds: round(row?.lag_seconds ?? 0) };
  }
  const row = (await client.query(LAG_ON_PRIMARY)).rows[0] as
    { standbys: number; lag_seconds: number } | undefined;
  return { standbys: row?.standbys ?? 0, lagSeconds: round(row?.lag_seconds ?? 0) };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
