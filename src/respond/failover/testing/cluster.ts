/**
 * For tests: a throwaway primary with a streaming standby and, when asked, pgbouncer in
 * front; plus a small writer that logs acknowledged ids. Stop everything with stop().
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startPostgres, type PostgresInstance } from '../../../stores/postgres/sandbox.js';
import type { FailoverTopology } from '../observe.js';
import { startPgbouncer, type PgbouncerInstance } from '../route-pgbouncer.js';
import { managedFromInstance, type Endpoint, type ManagedServer } from '../server.js';
import { dropClient, query } from '../../../stores/postgres/sql.js';
import { createStandby, type StandbyServer } from '../standby.js';

export interface TestCluster {
  pg: PostgresInstance;
  primary: ManagedServer;
  standby: StandbyServer;
  bouncer: PgbouncerInstance | undefined;
  topology: FailoverTopology;
  stop(): Promise<void>;
}

export async function startTestCluster(
  options: {
    sync?: boolean;
    bouncer?: boolean;
    upstream?: (primary: PostgresInstance) => Promise<Endpoint>;
  } = {},
): Promise<TestCluster> {
  const pgInstance = await startPostgres({
    extraConf: { wal_log_hints: true, wal_keep_size: '128MB', fsync: false },
  });
  const primary = managedFromInstance(pgInstance, { name: 'primary' });
  const stops: (() => Promise<void>)[] = [() => pgInstance.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    await query(primary.url, 'CREATE TABLE writes (id bigint PRIMARY KEY)');
    const upstream = options.upstream ? await options.upstream(pgInstance) : undefined;
    const standby = await createStandby(primary, {
      sync: options.sync ?? false,
      extraConf: { fsync: false },
      ...(upstream ? { upstream } : {}),
    });
    stops.push(() => standby.stop());
    const bouncer = options.bouncer
      ? await startPgbouncer({
          database: 'postgres',
          target: { name: 'primary', ...primary.endpoint },
          password: decodeURIComponent(new URL(primary.url).password),
        })
      : undefined;
    if (bouncer) stops.push(() => bouncer.stop());
    return {
      pg: pgInstance,
      primary,
      standby,
      bouncer,
      topology: { primary, standbys: [standby.server], router: bouncer ?? null },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface TestWriter {
  /** Acknowledged ids with the port of the server that acknowledged each. */
  /** Each acknowledged write: its id, the port of the server that took it, when (epoch ms). */
  acks: { id: number; port: number; at: number }[];
  stop(): Promise<void>;
}

/** Inserts increasing ids into `writes` through `url`, reconnecting after errors. */
/** Writes ids from `firstId` up, one at a time, recording each acknowledgement. */
export function startTestWriter(url: string, firstId = 1): TestWriter {
  const acks: TestWriter['acks'] = [];
  let stopped = false;
  let client: pg.Client | undefined;
  const loop = (async () => {
    let id = firstId - 1;
    while (!stopped) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 30_000 });
          client.on('error', () => undefined);
          await client.connect();
        }
        const next = ++id;
        const result = await client.query(
          'INSERT INTO writes VALUES ($1) RETURNING inet_server_port() AS p',
          [next],
        );
        acks.push({ id: next, port: Number(result.rows[0].p), at: Date.now() });
      } catch {
        if (client) dropClient(client);
        client = undefined;
        await sleep(10);
      }
    }
  })();
  return {
    acks,
    stop: async () => {
      stopped = true;
      if (client) dropClient(client);
      await loop;
    },
  };
}

/** Inserts one id into `writes` through `url`; returns the port of the server that acknowledged it. */
export async function writeOnce(url: string, id: number): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query('INSERT INTO writes VALUES ($1) RETURNING inet_server_port() AS p', [
      id,
    ]);
    return Number(result.rows[0].p);
  } finally {
    dropClient(client);
  }
}

/** Ids of `acks` missing from the `writes` table at `url`. */
export async function missingIds(url: string, acks: { id: number }[]): Promise<number[]> {
  const present = new Set((await query(url, 'SELECT id FROM writes')).map((r) => Number(r.id)));
  return acks.filter((a) => !present.has(a.id)).map((a) => a.id);
}
