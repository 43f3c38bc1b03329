// The Patroni side of the bench, built the standard way from Debian's packages: one etcd
// member, two Patroni nodes (each with its PostgreSQL 15, bootstrapped by initdb, the second
// cloned by pg_basebackup), and HAProxy in front routing to whichever node answers
// `GET /primary` on its Patroni REST API with 200. All on loopback, in temp dirs, as the
// postgres OS user.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { httpGet, killTree, onCleanup, removeTempDir, startProcess, tempDir, waitFor } from './processes.mjs';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * Patroni's timers. `default`: Patroni's defaults. `fast`: the shortest that keep Patroni's
 * rule loop_wait + 2 * retry_timeout <= ttl (Patroni 3.0.2 enforces no minimum; the docs of
 * Patroni 3.1+ state minimums ttl 20, loop_wait 1, retry_timeout 3, so ttl 10 is below what
 * newer versions accept: an optimistic setting for Patroni).
 */
export const TIMERS = {
  default: { ttl: 30, loop_wait: 10, retry_timeout: 10 },
  fast: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
};

/**
 * HAProxy's health check, the same for both timer settings: every second, down after 2
 * failures, up after 1 success. Patroni's example haproxy.cfg uses inter 3s fall 3 rise 2,
 * which would add seconds to every Patroni figure; the faster check is the conservative choice.
 */
export const HAPROXY_CHECK = 'inter 1s fall 2 rise 1';

/** A single-member etcd on two free loopback ports; resolves once /health says true. */
export async function startEtcd(freePort) {
  const dir = tempDir('etcd');
  const client = await freePort();
  const peer = await freePort();
  const proc = startProcess(
    'etcd',
    [
      '--name=bench',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=bench=http://127.0.0.1:${peer}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-level=warn',
    ],
    { cwd: dir, logFile: join(dir, 'etcd.log') },
  );
  await waitFor('etcd healthy', async () => (await httpGet(client, '/health')).body?.health === 'true', {
    timeoutMs: 30_000,
  });
  return {
    port: client,
    dir,
    stop: () => {
      proc.kill();
      removeTempDir(dir);
    },
  };
}

function nodeConfig({ name, scope, dir, etcdPort, restPort, pgPort, timers, sync }) {
  return {
    scope,
    namespace: '/lifeboat-bench/',
    name,
    restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
    etcd3: { host: `127.0.0.1:${etcdPort}` },
    bootstrap: {
      dcs: {
        ...timers,
        maximum_lag_on_failover: 1048576,
        synchronous_mode: sync,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          // As in Lifeboat's drill: fsync off (the faults kill processes, the kernel keeps
          // their writes; fsync would only slow both on a shared disk), synchronous_commit on.
          parameters: {
            fsync: 'off',
            wal_log_hints: 'on',
            wal_keep_size: '128MB',
            max_wal_senders: 5,
            wal_sender_timeout: '5s',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, 'no-sync'],
      pg_hba: [
        'local all all trust',
        'host all all 127.0.0.1/32 trust',
        'host replication all 127.0.0.1/32 trust',
      ],
    },
    postgresql: {
      listen: `127.0.0.1:${pgPort}`,
      connect_address: `127.0.0.1:${pgPort}`,
      data_dir: join(dir, 'data'),
      bin_dir: PG_BIN,
      pgpass: join(dir, 'pgpass'),
      authentication: {
        superuser: { username: 'postgres', password: 'bench' },
        replication: { username: 'replicator', password: 'bench' },
        rewind: { username: 'rewind_user', password: 'bench' },
      },
      parameters: { unix_socket_directories: dir },
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

function startNode(options) {
  const dir = tempDir(`patroni-${options.name}`);
  const configFile = join(dir, 'patroni.yml');
  writeFileSync(configFile, YAML.stringify(nodeConfig({ ...options, dir })));
  const node = { ...options, dir, dataDir: join(dir, 'data'), logFile: join(dir, 'patroni.log') };
  // Patroni double-forks PostgreSQL into its own session: without a subreaper it is
  // reparented to PID 1, not Patroni's descendant.
  onCleanup(() => killPostmaster(node.dataDir));
  node.proc = REAPER
    ? startProcess(REAPER, ['-s', '--', 'patroni', configFile], { cwd: dir, logFile: node.logFile })
    : startProcess('patroni', [configFile], { cwd: dir, logFile: node.logFile });
  return node;
}

/**
 * tini as the subreaper of each Patroni node, when installed (apt-get install tini), standing
 * in for systemd. Patroni tells a crashed PostgreSQL by its postmaster's pid (psutil), and
 * psutil counts a zombie as running; a killed postmaster, an orphan, stays a zombie until
 * PID 1 reaps it. systemd reaps at once; the PID 1 of a container or micro-VM may take
 * seconds, and Patroni then loses a whole loop_wait before it restarts PostgreSQL. With tini
 * the postmaster is reparented to tini, which reaps it at once. BENCH_NO_REAPER=1 runs
 * without it, to see the difference.
 */
export const REAPER = process.env.BENCH_NO_REAPER === '1' ? undefined : findReaper();

function findReaper() {
  try {
    execFileSync('tini', ['--version'], { stdio: 'ignore' });
    return 'tini';
  } catch {
    return undefined;
  }
}

function haproxyConfig(port, nodes, socket) {
  return [
    'global',
    '    maxconn 200',
    `    stats socket ${socket} mode 600 level admin`,
    'defaults',
    '    mode tcp',
    '    retries 2',
    '    timeout client 30m',
    '    timeout connect 4s',
    '    timeout server 30m',
    '    timeout check 5s',
    'listen primary',
    `    bind 127.0.0.1:${port}`,
    '    option httpchk GET /primary',
    '    http-check expect status 200',
    `    default-server ${HAPROXY_CHECK} on-marked-down shutdown-sessions`,
    ...nodes.map((n) => `    server ${n.name} 127.0.0.1:${n.pgPort} maxconn 100 check port ${n.restPort}`),
    '',
  ].join('\n');
}

/**
 * Starts a two-node Patroni cluster and HAProxy and waits until node0 leads, node1 streams
 * from it (as the synchronous standby when `sync`) and HAProxy routes to node0.
 */
export async function startCluster({ etcdPort, freePort, timers, sync, scope }) {
  const ports = async () => ({ restPort: await freePort(), pgPort: await freePort() });
  const common = { scope, etcdPort, timers, sync };
  const nodes = [];
  const cluster = { nodes, haproxy: undefined, stop: () => stopCluster(cluster) };
  try {
    nodes.push(startNode({ ...common, name: 'node0', ...(await ports()) }));
    await waitFor(
      'node0 bootstrapped as leader',
      async () => (await httpGet(nodes[0].restPort, '/primary')).status === 200,
      {
        timeoutMs: 90_000,
        intervalMs: 200,
      },
    );
    nodes.push(startNode({ ...common, name: 'node1', ...(await ports()) }));
    await waitFor(
      `node1 streaming${sync ? ' as the synchronous standby' : ''}`,
      async () => (await httpGet(nodes[1].restPort, sync ? '/sync' : '/replica')).status === 200,
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const dir = tempDir('haproxy');
    const port = await freePort();
    const configFile = join(dir, 'haproxy.cfg');
    const socket = join(dir, 'admin.sock');
    writeFileSync(configFile, haproxyConfig(port, nodes, socket));
    const proc = startProcess('haproxy', ['-f', configFile, '-db'], {
      cwd: dir,
      logFile: join(dir, 'haproxy.log'),
    });
    cluster.haproxy = { port, dir, proc, url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}` };
    // HAProxy starts every server UP and needs `fall` failed checks to take one out: wait
    // until it has, or the first connections are spread over both nodes.
    await waitFor(
      'HAProxy routing to node0 only',
      async () => {
        const states = await haproxyServerStates(socket);
        return states.node0 === 'UP' && states.node1 === 'DOWN';
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return cluster;
  } catch (error) {
    stopCluster(cluster);
    throw error;
  }
}

/** { serverName: 'UP' | 'DOWN' | ... } from HAProxy's stats socket (`show stat`, CSV). */
function haproxyServerStates(socket) {
  return new Promise((resolve, reject) => {
    let text = '';
    const connection = createConnection(socket, () => connection.end('show stat\n'));
    connection.setTimeout(2000, () => connection.destroy(new Error('HAProxy stats socket: no answer')));
    connection.on('data', (chunk) => (text += chunk));
    connection.on('error', reject);
    connection.on('close', () => {
      const [header = '', ...rows] = text.split('\n');
      const columns = header.replace(/^# /, '').split(',');
      const name = columns.indexOf('svname');
      const status = columns.indexOf('status');
      const states = {};
      for (const row of rows) {
        const cells = row.split(',');
        if (cells.length > status) states[cells[name]] = cells[status];
      }
      resolve(states);
    });
  });
}

/** Kills everything the cluster started (throwaway: no clean shutdown) and removes its dirs. */
export function stopCluster(cluster) {
  if (cluster.haproxy) {
    cluster.haproxy.proc.kill();
    removeTempDir(cluster.haproxy.dir);
  }
  for (const node of cluster.nodes) {
    node.proc.kill();
    killPostmaster(node.dataDir); // A PostgreSQL orphaned by a killed Patroni.
    removeTempDir(node.dir);
  }
}

/** The node fault: its Patroni and its PostgreSQL (with all children) frozen, then killed, at one instant. */
export function killNode(node) {
  killTree(node.proc.pid, readPostmasterPid(node.dataDir));
}

/** SIGSTOP then SIGKILL the postmaster named in `dataDir`/postmaster.pid and all its children. */
export function killPostmaster(dataDir) {
  const pid = readPostmasterPid(dataDir);
  if (pid) killTree(pid);
}

/** The live postmaster of `dataDir`: a stale postmaster.pid may name a pid reused since by another process. */
export function readPostmasterPid(dataDir) {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return command.includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The node whose REST API answers 200 to GET /primary now, or undefined. */
export async function currentLeader(cluster) {
  for (const node of cluster.nodes) {
    const status = await httpGet(node.restPort, '/primary', 500)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 200) return node;
  }
  return undefined;
}

export function versions() {
  const first = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .split('\n')[0]
        .trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    patroni: first('patroni', ['--version']).replace('patroni', 'Patroni'),
    etcd: first('etcd', ['--version']).replace('etcd Version:', 'etcd'),
    haproxy: first('haproxy', ['-v']).replace(/^HAProxy version (\S+).*/, 'HAProxy $1'),
    postgres: first(join(PG_BIN, 'postgres'), ['--version']),
    patroni_subreaper: REAPER ? first('tini', ['--version']) : 'none: orphans reaped by PID 1',
  };
}
