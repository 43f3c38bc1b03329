/** doctor's look at the pgbouncer a failover moves clients through. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import {
  checkTraffic,
  datasetRto,
  pgbouncerFailoverFindings,
  pgbouncerSettings,
  poolerWarnings,
} from './traffic.js';

const stock = '[databases]\napp = host=10.0.0.1 port=5432\n\n[pgbouncer]\nlisten_port = 6432\n';
const tuned =
  '[databases]\napp = host=10.0.0.1\n[PgBouncer]\nPOOL_MODE = transaction\nserver_login_retry = 0.1\nserver_connect_timeout=2\n';

function planWith(rto: string | undefined): Plan {
  return {
    version: 1,
    ...(rto ? { services: { api: { rto, depends_on: ['app'] } } } : {}),
    datasets: {
      app: {
        source: { type: 'postgres', url: 'postgres://postgres@10.0.0.1/app' },
        replication: { standby: 'postgres://postgres@10.0.0.2/app', traffic: 'bouncer' },
      },
    },
    traffic: { bouncer: { type: 'pgbouncer', config: 'pgbouncer.ini' } },
  } as unknown as Plan;
}

describe('doctor: the pooler a failover goes through', () => {
  test('stock settings: each wait is named with the line that removes it', () => {
    const findings = pgbouncerFailoverFindings(pgbouncerSettings(stock));
    assert.deepEqual(
      findings.map((f) => [f.setting, f.value, f.line]),
      [
        ['server_login_retry', '15', 'server_login_retry = 0.1'],
        ['server_connect_timeout', '15', 'server_connect_timeout = 2'],
        ['pool_mode', 'session', 'pool_mode = transaction'],
      ],
    );
  });

  test('the lines docs ask for leave nothing to report; section and keys in any case', () => {
    const settings = pgbouncerSettings(tuned);
    assert.equal(settings.get('pool_mode'), 'transaction');
    assert.deepEqual(pgbouncerFailoverFindings(settings), []);
  });

  test('a dataset RTO the waits overrun fails the check; one they fit in warns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-doctor-traffic-'));
    try {
      writeFileSync(join(dir, 'pgbouncer.ini'), stock);
      const [tight] = checkTraffic(planWith('10s'), dir);
      assert.equal(tight?.ok, false);
      assert.match(tight!.detail, /a failover may take 18 s, over the RTO of 10 s/);
      assert.match(
        tight!.fix!,
        /server_login_retry = 0\.1, server_connect_timeout = 2, pool_mode = transaction/,
      );
      const [loose] = checkTraffic(planWith('1h'), dir);
      assert.equal(loose?.ok, true);
      assert.equal(loose?.warning, true);
      writeFileSync(join(dir, 'pgbouncer.ini'), tuned);
      const [fine] = checkTraffic(planWith('10s'), dir);
      assert.deepEqual([fine?.ok, fine?.warning], [true, undefined]);
      assert.equal(datasetRto(planWith('10s'), 'app'), 10);
      assert.deepEqual(
        [...poolerWarnings(planWith('10s'), dir)],
        [],
        'status says nothing of a tuned pooler',
      );
      writeFileSync(join(dir, 'pgbouncer.ini'), stock);
      const [[dataset, warning]] = [...poolerWarnings(planWith('10s'), dir)] as [[string, string]];
      assert.equal(dataset, 'app');
      assert.match(warning, /server_login_retry = 15 .*; set under \[pgbouncer\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
