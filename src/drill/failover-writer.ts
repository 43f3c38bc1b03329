/**
 * The drill's witnesses. The writer inserts rows with increasing ids through the client
 * endpoint as fast as it can and logs every write the database acknowledged (id, time, and
 * the port of the server that acknowledged it), reconnecting after any error: those
 * acknowledgements are what the failover must not lose. pgbench adds background load only:
 * it gives up on a client whose connection drops, so it proves nothing about loss.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { killAndWait, registerInstance } from '../system/instance.js';
import { dropClient } from '../stores/postgres/sql.js';

/** The sandbox's table; a drill on a real dataset names its own. */
export const writesTable = 'drill_writes';

export function writesTableSql(table = writesTable): string {
  return `CREATE TABLE ${table} (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT clock_timestamp())`;
}

/** What Ack.server holds, for asking a server directly which one it is. */
export const serverIdSql = 'extract(epoch FROM pg_postmaster_start_time())::text';

export interface Ack {
  id: number;
  /** Epoch ms when the acknowledgement arrived. */
  at: number;
  /** inet_server_port() of the server that committed it. */
  port: number;
  /**
   * When that server's postmaster started (epoch seconds, as text): tells servers apart where
   * ports cannot (two hosts both on 5432), and a restarted server from the one that crashed.
   */
  server: string;
}

export interface Writer {
  readonly acks: readonly Ack[];
  readonly errors: number;
  /** Resolves with the first acknowledgement that matches, or undefined after `timeoutMs`. */
  waitForAck(match: (ack: Ack) => boolean, timeoutMs: number): Promise<Ack | undefined>;
  stop(): Promise<void>;
}

/** Writes into `table` (default: the sandbox's) through `url`, the client endpoint. */
export function startWriter(url: string, table = writesTable): Writer {
  const acks: Ack[] = [];
  let errors = 0;
  let stopped = false;
  let client: pg.Client | undefined;
  const loop = (async () => {
    let id = 0;
    while (!stopped) {
      try {
        if (!client) {
          const fresh = new pg.Client({
            connectionString: url,
            connectionTimeoutMillis: 30_000,
            query_timeout: 30_000,
          });
          fresh.on('error', () => undefined);
          client = fresh;
          await fresh.connect();
        }
        // An id is never retried: a write whose answer was lost may or may not have committed.
        const next = ++id;
        const result = await client.query(
          `INSERT INTO ${table} (id) VALUES ($1) RETURNING inet_server_port() AS port, ${serverIdSql} AS server`,
          [next],
        );
        const row = result.rows[0] as { port?: unknown; server?: unknown } | undefined;
        acks.push({ id: next, at: Date.now(), port: Number(row?.port), server: String(row?.server) });
      } catch {
        errors++;
        if (client) dropClient(client);
        client = undefined;
        if (!stopped) await sleep(10);
      }
    }
  })();
  return {
    acks,
    get errors() {
      return errors;
    },
    waitForAck: async (match, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      let from = 0;
      while (Date.now() < deadline) {
        for (; from < acks.length; from++) if (match(acks[from]!)) return acks[from];
        await sleep(10);
      }
      return acks.slice(from).find(match);
    },
    stop: async () => {
      stopped = true;
      if (client) dropClient(client);
      await loop;
    },
  };
}

export interface Load {
  stop(): Promise<void>;
}

/** pgbench through the client endpoint at a moderate rate (two shared cores run other work too). */
export function startLoad(
  endpoint: { host: string; port: number; database: string; password?: string },
  rate = 100,
): Load {
  const child = spawn(
    'pgbench',
    [
      '-n',
      '-c',
      '2',
      '-j',
      '1',
      '-T',
      '3600',
      '-R',
      String(rate),
      '-h',
      endpoint.host,
      '-p',
      String(endpoint.port),
      '-U',
      'postgres',
      endpoint.database,
    ],
    {
      stdio: 'ignore',
      env: { ...process.env, ...(endpoint.password ? { PGPASSWORD: endpoint.password } : {}) },
    },
  );
  child.on('error', () => undefined);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await killAndWait(child);
      unregister();
    })());
  const unregister = registerInstance({ stop, killSync: () => child.kill('SIGKILL') });
  return { stop };
}
