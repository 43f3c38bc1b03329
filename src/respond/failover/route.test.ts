import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freePort } from '../../system/free-port.js';
import { stopAll } from '../../system/instance.js';
import { startPostgres, type PostgresInstance } from '../../stores/postgres/sandbox.js';
import { newInstancePassword } from '../../system/instance.js';
import { commandRouter, fillTarget } from './route.js';
import { startHaproxy } from './route-haproxy.js';
import { pgbouncerRouter, startPgbouncer } from './route-pgbouncer.js';
import { dropClient } from '../../stores/postgres/sql.js';

let a: PostgresInstance;
let b: PostgresInstance;
const password = newInstancePassword();

before(async () => {
  // One password on both: pgbouncer logs in to whichever it routes to with its own.
  [a, b] = await Promise.all([startPostgres({ password }), startPostgres({ password })]);
});
after(() => stopAll());

const target = (instance: PostgresInstance, name: string) => ({
  name,
  host: '127.0.0.1',
  port: instance.port,
});

async function serverPort(client: pg.Client): Promise<number> {
  return Number((await client.query('SELECT inet_server_port() AS p')).rows[0].p);
}

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 20_000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

describe('routing through pgbouncer', () => {
  test('switchTo rewrites [databases], RELOADs, and moves even open sessions', async () => {
    const bouncer = await startPgbouncer({ database: 'postgres', target: target(a, 'a'), password });
    try {
      assert.deepEqual(await bouncer.check(), { reachable: true, target: `127.0.0.1:${a.port}` });
      const client = await connected(bouncer.url);
      assert.equal(await serverPort(client), a.port);
      await bouncer.switchTo(target(b, 'b'));
      assert.match(
        readFileSync(bouncer.iniPath, 'utf8'),
        new RegExp(`^postgres = host=127.0.0.1 port=${b.port} `, 'm'),
      );
      // Transaction pooling: the same client session's next transaction runs on the new server.
      assert.equal(await serverPort(client), b.port);
      dropClient(client);
    } finally {
      await bouncer.stop();
    }
  });

  test('block() cuts every client off and holds new ones until switchTo releases them', async () => {
    const bouncer = await startPgbouncer({
      database: 'postgres',
      target: target(a, 'a'),
      poolMode: 'session',
      password,
    });
    try {
      const old = await connected(bouncer.url);
      await bouncer.block();
      await assert.rejects(old.query('SELECT 1'));
      let answered = false;
      const waiting = connected(bouncer.url).then(async (client) => {
        answered = true;
        const port = await serverPort(client);
        dropClient(client);
        return port;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(answered, false, 'a new client waits while the database is blocked');
      await bouncer.switchTo(target(b, 'b'));
      assert.equal(await waiting, b.port);
    } finally {
      await bouncer.stop();
    }
  });

  test('pause() lets the running transaction finish before holding clients', async () => {
    const bouncer = await startPgbouncer({ database: 'postgres', target: target(a, 'a'), password });
    try {
      const client = await connected(bouncer.url);
      const slow = client.query('SELECT pg_sleep(0.3), inet_server_port() AS p');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await bouncer.pause(5000);
      assert.equal(Number((await slow).rows[0].p), a.port, 'the running query finished on the old server');
      const next = serverPort(client);
      await bouncer.switchTo(target(b, 'b'));
      assert.equal(await next, b.port);
      dropClient(client);
    } finally {
      await bouncer.stop();
    }
  });

  test('an unreachable pgbouncer is reported, not thrown, by check()', async () => {
    const router = pgbouncerRouter({
      adminHost: '127.0.0.1',
      adminPort: await freePort(),
      iniPath: '/nonexistent/pgbouncer.ini',
      database: 'app',
    });
    const status = await router.check();
    assert.equal(status.reachable, false);
    assert.match(status.error ?? '', /pgbouncer at 127\.0\.0\.1:\d+ failed SHOW DATABASES/);
  });
});

describe('routing through HAProxy and through a command', () => {
  test('HAProxy: block drops sessions, switchTo repoints the server over the runtime API', async () => {
    const haproxy = await startHaproxy(target(a, 'a'), password);
    try {
      assert.deepEqual(await haproxy.check(), { reachable: true, target: `127.0.0.1:${a.port}` });
      const client = await connected(haproxy.url);
      assert.equal(await serverPort(client), a.port);
      await haproxy.block();
      await assert.rejects(client.query('SELECT 1'));
      await haproxy.switchTo(target(b, 'b'));
      const again = await connected(haproxy.url);
      assert.equal(await serverPort(again), b.port);
      dropClient(again);
    } finally {
      await haproxy.stop();
    }
  });

  test('command: {{target}} is filled in and shell-quoted; a failing command is an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-route-'));
    try {
      const file = join(dir, 'target');
      const router = commandRouter({ switchCommand: `echo {{target}} {{name}} > ${file}` });
      await router.switchTo({ name: "it's b", host: '10.0.0.2', port: 5433 });
      assert.equal(readFileSync(file, 'utf8'), "10.0.0.2:5433 it's b\n");
      assert.equal(router.canBlock, false);
      assert.equal(fillTarget('x {{ host }}:{{port}}', { name: 'n', host: 'h', port: 1 }), 'x h:1');
      const failing = commandRouter({ switchCommand: 'echo nope >&2; exit 3', checkCommand: 'exit 1' });
      await assert.rejects(
        failing.switchTo({ name: 'b', host: 'h', port: 1 }),
        /switch command failed \(exit 3\): nope/,
      );
      assert.equal((await failing.check()).reachable, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
