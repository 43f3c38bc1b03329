import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { freePort } from '../../system/free-port.js';
import { stopAll } from '../../system/instance.js';
import { startPostgres } from '../../stores/postgres/sandbox.js';
import { classifyFailure, watchPrimary } from './monitor.js';

after(() => stopAll());

describe('the detector', () => {
  test('a closed port is "refused" (the host answers); a silent one is "timeout"', async () => {
    const closed = await freePort();
    const refused = watchPrimary({
      url: `postgres://postgres@127.0.0.1:${closed}/postgres`,
      intervalMs: 50,
      failures: 3,
    });
    const lostRefused = await refused.lost;
    assert.equal(lostRefused?.failure, 'refused');
    assert.equal(lostRefused?.failures.length, 3);

    // Accepts connections and never answers: a black hole, as a cut network looks.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      const watch = watchPrimary({
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        intervalMs: 50,
        timeoutMs: 150,
        failures: 3,
      });
      const lost = await watch.lost;
      assert.equal(lost?.failure, 'timeout');
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 5000, `declared after ${took} ms`);

      // A deadline declares it lost sooner than ten slow failures would.
      const early = watchPrimary({
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        intervalMs: 50,
        timeoutMs: 150,
        failures: 10,
        deadlineMs: 250,
      });
      const declared = await early.lost;
      assert.ok(declared && declared.failures.length < 10, `${declared?.failures.length} failures`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('a healthy primary is sampled and never declared lost; a crash is', async () => {
    const pg = await startPostgres();
    try {
      const samples: number[] = [];
      const watch = watchPrimary({ url: pg.url, intervalMs: 50, onSample: (s) => samples.push(s.at) });
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.ok(samples.length >= 3, `${samples.length} samples`);
      assert.match(watch.lastSample()?.lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
      await pg.pgCtl(['stop', '-m', 'immediate', '-w']);
      const lost = await watch.lost;
      assert.equal(lost?.failure, 'refused');
      assert.ok(lost?.lastSample, 'the last sample before the loss is kept');
    } finally {
      await pg.stop();
    }
  });

  test('classifies errors by what the network said', () => {
    assert.equal(
      classifyFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      'refused',
    );
    assert.equal(classifyFailure(new Error('Connection terminated unexpectedly')), 'refused');
    assert.equal(
      classifyFailure(Object.assign(new Error('the database system is starting up'), { code: '57P03' })),
      'refused',
    );
    assert.equal(classifyFailure(new Error('Connection terminated due to connection timeout')), 'timeout');
    assert.equal(classifyFailure(new Error('recovery is in progress')), 'error');
  });
});
