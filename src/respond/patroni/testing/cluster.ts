/**
 * For tests: a throwaway Patroni cluster built from Debian's packages, the way production runs
 * one: a single-member etcd and two Patroni nodes, each with its own PostgreSQL (the first
 * bootstrapped by initdb, the second cloned from it by pg_basebackup), all on loopback, on free
 * ports, in temp dirs. Patroni's timers are short so that a handover takes seconds. stop()
 * kills everything and removes the dirs; so does the process's exit, should a test crash.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import YAML from 'yaml';
import { EnvironmentError } from '../../../errors.js';
import { freePort } from '../../../system/free-port.js';
import { makeTempDir, once, registerInstance, removeDir, type OsUser } from '../../../system/instance.js';
import { findPostgresBinDir } from '../../../stores/postgres/sandbox.js';
import { patroniClient, type PatroniCluster } from '../client.js';
import {
  requirePrograms,
  serverUser,
  signal,
  startServer,
  subreaper,
  type ServerProcess,
} from './processes.js';

/**
 * The shortest timers that keep Patroni's rule loop_wait + 2 * retry_timeout <= ttl. Patroni
 * 3.0 enforces no minimum; later versions want ttl >= 20, so this is for tests only.
 */
const timers = { ttl: 10, loop_wait: 1, retry_timeout: 4 };

export interface PatroniTestNode {
  name: string;
  /** Its REST API, e.g. `http://127.0.0.1:PORT`. */
  apiUrl: string;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust on loopback). */
  pgUrl: string;
  dataDir: string;
}

export interface PatroniTestCluster {
  nodes: PatroniTestNode[];
  node(name: string): PatroniTestNode;
  /** GET /cluster through the first node that answers. */
  read(): Promise<PatroniCluster>;
  /** Waits until `leader` leads and every other node streams from it with no lag. */
  settled(leader: string, timeoutMs?: number): Promise<PatroniCluster>;
  /** Freezes `name`'s WAL receiver so that it falls behind; returns the function that lets it go on. */
  pauseReplication(name: string): Promise<() => void>;
  stop(): Promise<void>;
}

export async function startPatroniCluster(): Promise<PatroniTestCluster> {
  requirePrograms([
    { command: 'patroni', debianPackage: 'patroni' },
    { command: 'etcd', debianPackage: 'etcd-server' },
  ]);
  const binDir = findPostgresBinDir();
  const user = serverUser();
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  const stop = once(async () => {
    await Promise.allSettled(servers.map((s) => s.kill()));
    for (const dir of dirs) removeDir(dir);
    unregister();
  });
  // Should the test process exit without stop(): the servers die first, then their dirs go.
  const unregister = registerInstance({
    stop,
    killSync: () => {
      for (const server of servers) server.killSync();
      for (const dir of dirs) removeDir(dir);
    },
  });
  const tempDir = (prefix: string) => {
    const dir = makeTempDir(prefix, user);
    dirs.push(dir);
    return dir;
  };

  try {
    const etcdPort = await startEtcd(tempDir('etcd'), user, servers);
    const scope = `lifeboat-test-${randomBytes(4).toString('hex')}`;
    const nodes: PatroniTestNode[] = [];
    for (const name of ['node0', 'node1']) {
      const dir = tempDir(`patroni-${name}`);
      const node = await startNode({ name, dir, scope, etcdPort, binDir, user, servers });
      nodes.push(node);
      // node0 first, so that it bootstraps and node1 clones it: which one leads is then known.
      if (name === 'node0') await waitFor(`${name} to lead`, servers.at(-1)!, () => isPrimary(node.apiUrl));
    }
    const cluster: PatroniTestCluster = {
      nodes,
      node: (name) => {
        const node = nodes.find((n) => n.name === name);
        if (!node) throw new Error(`no test node named ${name}`);
        return node;
      },
      read: () => readAny(nodes),
      settled: async (leader, timeoutMs = 60_000) => {
        let last: PatroniCluster | undefined;
        await waitFor(
          `${leader} to lead a streaming replica`,
          undefined,
          async () => {
            last = await readAny(nodes);
            return (
              (await isPrimary(cluster.node(leader).apiUrl)) &&
              last.members.length === nodes.length &&
              last.members.every((m) =>
                m.name === leader
                  ? m.role === 'leader' && m.state === 'running'
                  : m.state === 'running' && m.lagBytes === 0 && (m.timeline ?? 0) > 0,
              ) &&
              new Set(last.members.map((m) => m.timeline)).size === 1
            );
          },
          timeoutMs,
        );
        return last!;
      },
      pauseReplication: async (name) => {
        const rows = await sql(cluster.node(name).pgUrl, 'SELECT pid FROM pg_stat_wal_receiver');
        const pid = Number(rows[0]?.pid);
        if (!pid) throw new Error(`${name} has no WAL receiver to pause`);
        signal(pid, 'SIGSTOP');
        return () => signal(pid, 'SIGCONT');
      },
      stop,
    };
    await cluster.settled('node0', 90_000);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs one statement and returns its rows. */
export async function sql(url: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(text)).rows as Record<string, unknown>[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startEtcd(dir: string, user: OsUser | undefined, servers: ServerProcess[]): Promise<number> {
  const client = await freePort();
  const peer = await freePort();
  const etcd = startServer(
    'etcd',
    [
      '--name=test',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=test=http://127.0.0.1:${peer}`,
      '--initial-cluster-state=new',
      '--log-level=warn',
    ],
    { cwd: dir, logFile: join(dir, 'etcd.log'), user },
  );
  servers.push(etcd);
  await waitFor('etcd to answer', etcd, async () => {
    const response = await fetch(`http://127.0.0.1:${client}/health`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  });
  return client;
}

async function startNode(options: {
  name: string;
  dir: string;
  scope: string;
  etcdPort: number;
  binDir: string;
  user: OsUser | undefined;
  servers: ServerProcess[];
}): Promise<PatroniTestNode> {
  const { name, dir } = options;
  const restPort = await freePort();
  const pgPort = await freePort();
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'patroni.yml');
  writeFileSync(
    configFile,
    YAML.stringify({
      scope: options.scope,
      namespace: '/lifeboat-test/',
      name,
      restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
      etcd3: { host: `127.0.0.1:${options.etcdPort}` },
      bootstrap: {
        dcs: {
          ...timers,
          maximum_lag_on_failover: 1048576,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            // Throwaway data: fsync off (no crash to survive), commits still wait for the local WAL write.
            parameters: { fsync: 'off', wal_log_hints: 'on', wal_keep_size: '64MB', max_wal_senders: 5 },
          },
        },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'no-sync'],
        pg_hba: [
          'local all all trust',
          'host all all 127.0.0.1/32 trust',
          'host replication all 127.0.0.1/32 trust',
        ],
      },
      postgresql: {
        listen: `127.0.0.1:${pgPort}`,
        connect_address: `127.0.0.1:${pgPort}`,
        data_dir: dataDir,
        bin_dir: options.binDir,
        pgpass: join(dir, 'pgpass'),
        // Trust on loopback: the passwords are never checked, Patroni only insists on having them.
        authentication: {
          superuser: { username: 'postgres', password: 'test' },
          replication: { username: 'replicator', password: 'test' },
          rewind: { username: 'rewind_user', password: 'test' },
        },
        parameters: { unix_socket_directories: dir, shared_buffers: '32MB', max_connections: 40 },
      },
    }),
  );
  const reaper = subreaper();
  const [command, args] = reaper ? [reaper, ['-s', '--', 'patroni', configFile]] : ['patroni', [configFile]];
  options.servers.push(
    startServer(command, args, {
      cwd: dir,
      logFile: join(dir, 'patroni.log'),
      user: options.user,
      postgresDataDir: dataDir,
    }),
  );
  return {
    name,
    apiUrl: `http://127.0.0.1:${restPort}`,
    pgUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
    dataDir,
  };
}

async function isPrimary(apiUrl: string): Promise<boolean> {
  return patroniClient(apiUrl, { timeoutMs: 1000 })
    .check('primary')
    .catch(() => false);
}

async function readAny(nodes: PatroniTestNode[]): Promise<PatroniCluster> {
  let lastError: unknown;
  for (const node of nodes) {
    try {
      return await patroniClient(node.apiUrl, { timeoutMs: 2000 }).cluster();
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Polls `probe` until true; a server that exits meanwhile fails at once, with its log. */
async function waitFor(
  what: string,
  server: ServerProcess | undefined,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) {
      throw new EnvironmentError(
        `the Patroni test cluster: waiting for ${what}, the server exited: ${server.logTail()}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new EnvironmentError(`the Patroni test cluster: no ${what} within ${timeoutMs / 1000} s`, {
        hint: server ? `Its log: ${server.logTail()}` : undefined,
      });
    }
    await sleep(100);
  }
}
