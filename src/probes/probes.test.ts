/** Each probe kind against real servers: passing, and failing for the right reason. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import { startMariadb } from '../stores/mysql/sandbox.js';
import { startPostgres } from '../stores/postgres/sandbox.js';
import { startRedis } from '../stores/redis/sandbox.js';
import { stopAll } from '../system/instance.js';
import { createProbe, scheduleProbe } from './index.js';
import type { Probe as ProbeConfig } from '../plan/schema.js';
import type { ProbeResult } from './probe.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-probes-'));
const context = { planDir: dir, env: { PROBE_TOKEN: 'sesame' } };
const plan = { version: 1, organization: 'Test' } as Plan;

function probe(config: ProbeConfig, options = {}) {
  return createProbe(plan, 'p', config, context, 3000, options);
}
function check(config: ProbeConfig, options = {}, timeoutMs = 3000): Promise<ProbeResult> {
  return probe(config, options).check(AbortSignal.timeout(timeoutMs));
}
function listen(server: Server | http.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

describe('probes', () => {
  let httpPort = 0;
  let httpsPort = 0;
  let ca = '';
  const servers: (Server | http.Server)[] = [];
  const handler: http.RequestListener = (req, res) => {
    if (req.url === '/health') {
      res.end(req.headers.authorization === 'sesame' ? 'all good' : 'who are you');
    } else if (req.url === '/hang') {
      // never answers
    } else {
      res.statusCode = 503;
      res.end('down for maintenance');
    }
  };

  before(async () => {
    // A self-signed certificate for 127.0.0.1, valid 30 days.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '30',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const plain = http.createServer(handler);
    const secure = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, handler);
    servers.push(plain, secure);
    httpPort = await listen(plain);
    httpsPort = await listen(secure);
  });
  after(async () => {
    for (const server of servers) {
      (server as http.Server).closeAllConnections?.();
      server.close();
    }
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('http: status, body and a header from env:', async () => {
    const url = `http://127.0.0.1:${httpPort}/health`;
    const ok = await check({
      type: 'http',
      url,
      headers: { authorization: 'env:PROBE_TOKEN' },
      expect: { contains: 'good' },
    });
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.details?.status, 200);
    const bodyless = await check({ type: 'http', url, expect: { contains: 'good' } });
    assert.equal(bodyless.ok, false);
    assert.match(bodyless.message, /body lacks "good"/);
    const down = await check({ type: 'http', url: `http://127.0.0.1:${httpPort}/` });
    assert.equal(down.ok, false);
    assert.match(down.message, /answered 503, expected 2xx or 3xx/);
    const hang = await check({ type: 'http', url: `http://127.0.0.1:${httpPort}/hang` }, {}, 300);
    assert.equal(hang.ok, false);
    assert.match(hang.message, /timed out|stopped/);
  });

  test('https: the certificate days left, and an untrusted certificate refused', async () => {
    const url = `https://127.0.0.1:${httpsPort}/health`;
    const trusted = await check({ type: 'http', url, expect: { status: 200 } }, { http: { ca } });
    assert.equal(trusted.ok, true, trusted.message);
    assert.ok(
      trusted.details?.certDaysLeft === 29 || trusted.details?.certDaysLeft === 30,
      String(trusted.details?.certDaysLeft),
    );
    const untrusted = await check({ type: 'http', url });
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.message, /self.signed certificate/i);
  });

  test('tcp: a listening port and a closed one', async () => {
    const server = createServer((socket) => socket.end());
    servers.push(server);
    const port = await listen(server);
    const ok = await check({ type: 'tcp', host: '127.0.0.1', port });
    assert.equal(ok.ok, true, ok.message);
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const refused = await check({ type: 'tcp', host: '127.0.0.1', port: closedPort });
    assert.equal(refused.ok, false);
    assert.match(refused.message, /refuses connections: .*ECONNREFUSED/);
  });

  test('dns: a name, an expected address, a name that does not exist', async () => {
    const ok = await check({ type: 'dns', host: 'localhost', address: '127.0.0.1' });
    assert.equal(ok.ok, true, ok.message);
    const wrong = await check({ type: 'dns', host: 'localhost', address: '10.9.8.7' });
    assert.equal(wrong.ok, false);
    assert.match(wrong.message, /not 10\.9\.8\.7/);
    const missing = await check({ type: 'dns', host: 'no-such-name.invalid' });
    assert.equal(missing.ok, false);
    assert.match(missing.message, /does not resolve: .*ENOTFOUND/);
  });

  test('command: exit 0, a failing exit with its output, a timeout', async () => {
    assert.equal((await check({ type: 'command', command: 'true' })).ok, true);
    const failed = await check({ type: 'command', command: 'echo disk full >&2; exit 3' });
    assert.equal(failed.ok, false);
    assert.match(failed.message, /exited 3: disk full/);
    const slow = await createProbe(
      plan,
      'p',
      { type: 'command', command: 'exec sleep 5' },
      context,
      300,
    ).check(AbortSignal.timeout(5000));
    assert.equal(slow.ok, false);
    assert.match(slow.message, /killed \(SIGKILL\), timeout 300 ms/);
  });

  test('manual: up until someone reports otherwise', async () => {
    const manual = probe({ type: 'manual' }) as import('./manual.js').ManualProbe;
    assert.equal((await manual.check(AbortSignal.timeout(100))).ok, true);
    manual.report(false, 'customers report failed payments');
    const reported = await manual.check(AbortSignal.timeout(100));
    assert.deepEqual([reported.ok, reported.message], [false, 'customers report failed payments']);
  });

  test('postgres: role and lag through a dataset, and a refused password', async () => {
    const pg = await startPostgres({ fast: true });
    const withDataset = {
      ...plan,
      datasets: {
        orders: {
          source: { type: 'postgres', url: 'env:ORDERS_URL' },
          replication: { standby: 'a name' },
        },
      },
    } as unknown as Plan;
    const env = { ORDERS_URL: pg.url };
    const scheduled = scheduleProbe(
      withDataset,
      'db',
      { type: 'postgres', dataset: 'orders', every: '1s' },
      { planDir: dir, env },
    );
    assert.equal(scheduled.intervalMs, 1000);
    const ok = await scheduled.probe.check(AbortSignal.timeout(5000));
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.details?.role, 'primary');
    assert.equal(ok.details?.standbys, 0);
    const bad = new URL(pg.url);
    bad.password = 'wrong';
    const refused = await check({ type: 'postgres', url: bad.toString() }, {}, 5000);
    assert.equal(refused.ok, false);
    assert.match(refused.message, /password authentication failed/);
  });

  test('redis: PING and role, and a wrong password', async () => {
    const redis = await startRedis();
    const ok = await check({ type: 'redis', url: redis.url }, {}, 5000);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.details?.role, 'master');
    const bad = new URL(redis.url);
    bad.password = 'wrong';
    const refused = await check({ type: 'redis', url: bad.toString() }, {}, 5000);
    assert.equal(refused.ok, false);
    assert.match(refused.message, /WRONGPASS|invalid password|NOAUTH/i);
  });

  test('mysql: SELECT 1 and a server that is not there', async () => {
    const maria = await startMariadb({ fast: true });
    const ok = await check({ type: 'mysql', url: maria.url }, {}, 10_000);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.details?.readOnly, false);
    const port = maria.port;
    await maria.stop();
    const gone = await check(
      { type: 'mysql', url: maria.url.replace(String(port), String(port)) },
      {},
      10_000,
    );
    assert.equal(gone.ok, false);
    assert.match(gone.message, /unreachable: .*Can't connect/);
  });

  test('a store probe with neither url nor dataset is a usage error naming the fix', () => {
    assert.throws(() => probe({ type: 'redis' }), /probes\.p names neither a url nor a dataset/);
  });
});
