import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import { patroniClient } from './client.js';
import { startPatroniCluster, type PatroniTestCluster } from './testing/cluster.js';
import { requirePrograms } from './testing/processes.js';

describe('patroniClient against a real Patroni cluster', () => {
  let cluster: PatroniTestCluster;
  before(async () => {
    cluster = await startPatroniCluster();
  });
  after(() => cluster?.stop());

  test('GET /cluster: members with role, state, address, timeline and lag', async () => {
    const node0 = cluster.node('node0');
    const node1 = cluster.node('node1');
    const read = await patroniClient(node1.apiUrl).cluster();
    assert.equal(read.paused, false);
    assert.deepEqual(
      read.members.map((m) => [
        m.name,
        m.role,
        m.state,
        m.apiUrl,
        `postgres://postgres@${m.host}:${m.port}/postgres`,
      ]),
      [
        ['node0', 'leader', 'running', node0.apiUrl, node0.pgUrl],
        ['node1', 'replica', 'running', node1.apiUrl, node1.pgUrl],
      ],
    );
    const [leader, replica] = read.members;
    assert.equal(leader!.lagBytes, undefined, 'the leader has no lag');
    assert.equal(replica!.lagBytes, 0);
    assert.equal(leader!.timeline, replica!.timeline);
  });

  test('GET /patroni and the health checks', async () => {
    const leader = patroniClient(cluster.node('node0').apiUrl);
    const replica = patroniClient(cluster.node('node1').apiUrl);
    const status = await leader.status();
    assert.equal(status.state, 'running');
    assert.match(status.role, /^(master|primary)$/);
    assert.match(status.patroniVersion ?? '', /^\d+\.\d+/);
    assert.equal((await replica.status()).role, 'replica');
    assert.deepEqual(
      await Promise.all([leader.check('leader'), leader.check('primary'), leader.check('replica')]),
      [true, true, false],
    );
    assert.deepEqual(await Promise.all([replica.check('primary'), replica.check('replica')]), [false, true]);
  });

  test("Patroni's refusals come back in words, and change nothing", async () => {
    const client = patroniClient(cluster.node('node0').apiUrl);
    await assert.rejects(
      client.switchover({ leader: 'node1', candidate: 'node0' }, 10_000),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        error.message.includes('refused the switchover (HTTP 412): "leader name does not match"') &&
        /"node1" is not the leader any more.*Nothing was changed\./.test(error.hint ?? ''),
    );
    await assert.rejects(
      client.failover({ candidate: 'node9' }, 10_000),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        error.message.includes('"candidate does not exists"') &&
        (error.hint ?? '').includes('Patroni knows no member named "node9"'),
    );
    const after = await client.cluster();
    assert.deepEqual(
      after.members.map((m) => [m.name, m.role]),
      [
        ['node0', 'leader'],
        ['node1', 'replica'],
      ],
    );
  });

  test('credentials in the URL go into a header, never into what is printed', async () => {
    const port = new URL(cluster.node('node0').apiUrl).port;
    const client = patroniClient(`http://lifeboat:s3cret@127.0.0.1:${port}/`);
    assert.equal(client.url, `http://127.0.0.1:${port}`);
    assert.equal((await client.cluster()).members.length, 2);
  });
});

describe('patroniClient without Patroni', () => {
  test('an unreachable API: the error names the URL and says what to check', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      patroniClient(url).cluster(),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        error.message === `GET ${url}/cluster: the Patroni REST API is unreachable (ECONNREFUSED)` &&
        /restapi\.connect_address/.test(error.hint ?? ''),
    );
  });

  test('something that is not Patroni, or too slow, is named as such', async () => {
    const server = createServer((request, response) => {
      if (request.url?.startsWith('/slow')) return; // Never answers.
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await assert.rejects(patroniClient(url).cluster(), /did not answer JSON: is this a Patroni REST API\?/);
      await assert.rejects(
        patroniClient(`${url}/slow`, { timeoutMs: 200 }).check('health'),
        (error: unknown) =>
          error instanceof EnvironmentError && /no answer within 200 ms/.test(error.message),
      );
      assert.throws(() => patroniClient('patroni-host:8008'), /is not http or https|is not a URL/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a missing Patroni fails the tests with what to install, never skips them', () => {
    assert.throws(
      () => requirePrograms([{ command: 'lifeboat-no-such-patroni', debianPackage: 'patroni' }]),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        error.message.includes('need lifeboat-no-such-patroni, not installed here') &&
        error.message.includes('apt-get install patroni'),
    );
  });
});
