/**
 * For tests: HAProxy in front of the Patroni test cluster, as Patroni's documentation sets
 * it up: a TCP frontend whose servers are the members' PostgreSQL, each checked with
 * `GET /primary` on its REST API, so that clients reach whichever member leads. The check
 * runs every 200 ms (Patroni's example: 3 s), so that a drill measures Patroni, not the check.
 */
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../system/free-port.js';
import { makeTempDir, once, removeDir } from '../../system/instance.js';
import type { PatroniTestCluster } from '../../respond/patroni/testing/cluster.js';
import { requirePrograms, startServer } from '../../respond/patroni/testing/processes.js';

export interface TestHaproxy {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the clients' endpoint. */
  url: string;
  /** Resolves once HAProxy routes to `leader` only. */
  routesTo(leader: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestHaproxy(cluster: PatroniTestCluster): Promise<TestHaproxy> {
  requirePrograms([{ command: 'haproxy', debianPackage: 'haproxy' }]);
  const dir = makeTempDir('haproxy', undefined);
  const port = await freePort();
  const socket = join(dir, 'admin.sock');
  const configFile = join(dir, 'haproxy.cfg');
  const servers = cluster.nodes.map((n) => {
    const pg = new URL(n.pgUrl);
    const api = new URL(n.apiUrl);
    return `    server ${n.name} ${pg.hostname}:${pg.port} check port ${api.port}`;
  });
  writeFileSync(
    configFile,
    [
      'global',
      '    maxconn 200',
      `    stats socket ${socket} mode 600 level admin`,
      'defaults',
      '    mode tcp',
      '    retries 2',
      '    timeout client 30m',
      '    timeout connect 4s',
      '    timeout server 30m',
      '    timeout check 2s',
      'listen primary',
      `    bind 127.0.0.1:${port}`,
      '    option httpchk GET /primary',
      '    http-check expect status 200',
      '    default-server inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions',
      ...servers,
      '',
    ].join('\n'),
  );
  const proc = startServer('haproxy', ['-f', configFile, '-db'], {
    cwd: dir,
    logFile: join(dir, 'haproxy.log'),
    user: undefined,
  });
  const stop = once(async () => {
    await proc.kill();
    removeDir(dir);
  });
  const routesTo = async (leader: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await serverStates(socket).catch(() => ({}) as Record<string, string>);
      if (cluster.nodes.every((n) => (states[n.name] === 'UP') === (n.name === leader))) return;
      if (Date.now() > deadline)
        throw new Error(
          `HAProxy does not route to ${leader} only: ${JSON.stringify(states)}; ${proc.logTail()}`,
        );
      await sleep(100);
    }
  };
  try {
    await routesTo(cluster.nodes[0]!.name);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, routesTo, stop };
}

/** { server: 'UP' | 'DOWN' | ... } from HAProxy's stats socket (`show stat`, CSV). */
function serverStates(socket: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const connection = createConnection(socket, () => connection.end('show stat\n'));
    connection.setTimeout(2000, () => connection.destroy(new Error('HAProxy stats socket: no answer')));
    connection.on('data', (chunk) => (text += String(chunk)));
    connection.on('error', reject);
    connection.on('close', () => {
      const [header, ...rows] = text.trim().split('\n');
      const columns = (header ?? '').replace(/^# /, '').split(',');
      const name = columns.indexOf('svname');
      const status = columns.indexOf('status');
      const states: Record<string, string> = {};
      for (const row of rows) {
        const cells = row.split(',');
        if (cells[name] && !['FRONTEND', 'BACKEND'].includes(cells[name]))
          states[cells[name]] = cells[status] ?? '';
      }
      resolve(states);
    });
  });
}
