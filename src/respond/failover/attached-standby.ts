/**
 * Which server a standby that the primary's pg_stat_replication shows actually is. The
 * primary knows only its application_name and address; a failover needs its URL (to promote
 * it) and, to fence it on its host later, its data directory. Those are known only for the
 * servers the plan names (the old primary, the standby, and whatever a reloaded plan adds):
 * a standby is identified when one of them says, from its own side, that it streams under
 * that name from this primary. Any other standby stays unknown, and is never promoted.
 */
import type { ReplicaSample } from './monitor.js';
import { managedFromHost, type HostServerOptions } from './server-host.js';
import type { ManagedServer } from './server.js';
import { query } from '../../stores/postgres/sql.js';

/** A server the plan names, by URL (and data directory when Lifeboat runs on its host). */
export type KnownServer = Omit<HostServerOptions, 'name'>;

const receiverSql = `SELECT pg_is_in_recovery() AS recovery,
  (SELECT status FROM pg_stat_wal_receiver) AS status,
  (SELECT sender_port FROM pg_stat_wal_receiver) AS sender_port,
  (SELECT conninfo FROM pg_stat_wal_receiver) AS conninfo,
  current_setting('cluster_name') AS cluster_name`;

/**
 * The known server that streams from `primary` as `replica`, made a ManagedServer under the
 * name the primary knows it by (what planFailover matches lag by); undefined when none does.
 */
export async function identifyStandby(
  primary: ManagedServer,
  replica: ReplicaSample,
  known: readonly KnownServer[],
): Promise<ManagedServer | undefined> {
  for (const server of known) {
    if (sameEndpoint(server.url, primary.url)) continue;
    const [row] = await query(server.url, receiverSql, { timeoutMs: 2000 }).catch(() => []);
    if (row?.recovery !== true || row.status !== 'streaming') continue;
    // A WAL receiver's default application_name is cluster_name, else `walreceiver`.
    const named =
      /application_name=('?)([^' ]+)\1/.exec(String(row.conninfo ?? ''))?.[2] ??
      (String(row.cluster_name ?? '') || 'walreceiver');
    // The same name streaming from another server (a cascade, another cluster) is not this one.
    const fromPort = row.sender_port === null ? undefined : Number(row.sender_port);
    const ports = [primary.endpoint.port, Number(new URL(primary.url).port || 5432)];
    if (named !== replica.name || (fromPort !== undefined && !ports.includes(fromPort))) continue;
    return managedFromHost({ ...server, name: replica.name });
  }
  return undefined;
}

/** host:port equality of two URLs. */
export function sameEndpoint(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.hostname === y.hostname && (x.port || '5432') === (y.port || '5432');
  } catch {
    return false;
  }
}
