/** The metrics endpoint over real HTTP on a free port of 127.0.0.1. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { EnvironmentError, UsageError } from '../errors.js';
import { parseListenAddress, startMetricsServer, type MetricsServer } from './server.js';

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (c: string) => (body += c));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }),
      );
    });
    req.on('error', reject).end();
  });
}

describe('metrics server', () => {
  let renders = 0;
  let broken = false;
  const errors: unknown[] = [];
  let server: MetricsServer;
  after(() => server?.close());

  test('GET /metrics renders on each scrape, as text format 0.0.4', async () => {
    server = await startMetricsServer({
      listen: { host: '127.0.0.1', port: 0 },
      render: async () => {
        if (broken) throw new Error('secret internals at /var/lib/x');
        return `# HELP lifeboat_x x\n# TYPE lifeboat_x gauge\nlifeboat_x ${++renders}\n`;
      },
      onError: (e) => errors.push(e),
    });
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}/metrics`);
    const first = await get(server.url);
    assert.equal(first.status, 200);
    assert.equal(first.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(first.body, /^lifeboat_x 1$/m);
    assert.match((await get(server.url)).body, /^lifeboat_x 2$/m);
    const head = await get(server.url, 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  });

  test('/healthz answers ok; other paths 404; other methods 405', async () => {
    const base = `http://127.0.0.1:${server.address.port}`;
    assert.deepEqual(await get(`${base}/healthz`), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      body: 'ok\n',
    });
    assert.equal((await get(`${base}/`)).status, 404);
    assert.equal((await get(`${base}/metrics/x`)).status, 404);
    assert.equal((await get(`${base}/metrics`, 'POST')).status, 405);
  });

  test('a render that throws is a 500 that shows no internals; the error goes to onError', async () => {
    broken = true;
    const failed = await get(server.url);
    broken = false;
    assert.equal(failed.status, 500);
    assert.doesNotMatch(failed.body, /secret|\/var\/lib/);
    assert.match((errors[0] as Error).message, /secret internals/);
  });

  test('a port in use: an environment error that names it and what to do', async () => {
    const taken = server.address.port;
    await assert.rejects(
      startMetricsServer({ listen: { host: '127.0.0.1', port: taken }, render: async () => '' }),
      (e) => {
        assert.ok(e instanceof EnvironmentError);
        assert.match(e.message, new RegExp(`another process already listens on 127\\.0\\.0\\.1:${taken}`));
        assert.match(e.hint ?? '', /another port/);
        return true;
      },
    );
  });

  test('close ends keep-alive connections and can be called twice', async () => {
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve) =>
      request(server.url, { agent }, (r) => r.resume().on('end', resolve)).end(),
    );
    const started = Date.now();
    await Promise.all([server.close(), server.close()]);
    assert.ok(Date.now() - started < 1000, 'a kept-alive connection does not hold the close');
    await assert.rejects(get(server.url), /ECONNREFUSED/);
    agent.destroy();
  });
});

describe('parseListenAddress', () => {
  test('HOST:PORT and [IPv6]:PORT; anything else is a usage error with an example', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9187'), { host: '127.0.0.1', port: 9187 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:9187'), { host: '::1', port: 9187 });
    for (const bad of ['9187', '127.0.0.1', ':9187', '::1:9187', 'host:99999', 'host:port']) {
      assert.throws(
        () => parseListenAddress(bad),
        (e) => e instanceof UsageError && /127\.0\.0\.1:9187/.test(e.hint ?? ''),
        bad,
      );
    }
  });
});
