import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvironmentError, UsageError } from '../../errors.js';
import { parsePlan } from '../../plan/load.js';
import { createProtectContext } from '../../protect/context.js';
import { failoverSpec } from './plan-topology.js';

function spec(yaml: string, id = 'users') {
  const loaded = parsePlan(`version: 1\norganization: Acme\n${yaml}`, '/plans/lifeboat.yaml');
  assert.ok(loaded.plan, 'the fixture is a valid plan');
  return failoverSpec(
    createProtectContext(loaded, {
      STANDBY_URL: 'postgres://postgres@db2:5432/app',
      FENCE: 'cloud stop --token secret {{host}}',
    }),
    id,
  );
}

const users = (replication: string, extra = '') => `
datasets:
  users:
    ${extra}
    source: { type: postgres, url: "postgres://postgres@db1:5432/app", data_dir: /var/lib/pg/data }
    replication: ${replication}
`;

describe('failoverSpec: a plan dataset to what failover acts on', () => {
  test('primary, standby, RPO and detector from the plan; an RPO of 0 needs a synchronous standby', () => {
    const s = spec(
      users(
        '{ standby: env:STANDBY_URL, standby_name: db2, standby_data_dir: data2, detect_after: 6s }',
        'rpo: 0s',
      ),
    );
    assert.deepEqual(s.primary, { url: 'postgres://postgres@db1:5432/app', dataDir: '/var/lib/pg/data' });
    assert.deepEqual(s.standby, {
      url: 'postgres://postgres@db2:5432/app',
      name: 'db2',
      dataDir: '/plans/data2',
    });
    assert.deepEqual(s.limits, { rpoBytes: 0 });
    assert.equal(s.sync, true);
    assert.equal(s.router, null);
    assert.deepEqual(s.watch, { intervalMs: 2000, timeoutMs: 2000, failures: 3, deadlineMs: 6000 });
    const async = spec(users('{ standby: env:STANDBY_URL }', 'rpo: 15m'));
    assert.deepEqual(async.limits, { rpoSeconds: 900 });
    assert.equal(async.sync, false);
    assert.equal(async.restartInPlace, false);
  });

  test('a traffic switch becomes the router; haproxy and command too', () => {
    const haproxy = spec(
      users('{ standby: env:STANDBY_URL, traffic: lb }') +
        'traffic:\n  lb: { type: haproxy, config: /run/haproxy/admin.sock, backend: pg }\n',
    );
    assert.equal(haproxy.router?.name, 'haproxy pg/primary');
    const command = spec(
      users('{ standby: env:STANDBY_URL, traffic: dns }') +
        'traffic:\n  dns: { type: command, command: "update-dns db {{target}}", block: "true" }\n',
    );
    assert.equal(command.router?.kind, 'command');
    assert.equal(command.router?.canBlock, true);
  });

  const refuses = (
    yaml: string,
    kind: typeof UsageError | typeof EnvironmentError,
    message: RegExp,
    hint?: RegExp,
  ) =>
    assert.throws(
      () => spec(yaml),
      (error: unknown) =>
        error instanceof kind &&
        message.test(error.message) &&
        (hint === undefined || hint.test(error.hint ?? '')),
    );

  test('each plan mistake is a clear error naming the field', () => {
    refuses(
      'datasets:\n  users: { source: { type: redis, url: "redis://cache:6379" } }\n',
      UsageError,
      /^dataset 'users' is a redis source, not PostgreSQL/,
      /lifeboat restore users/,
    );
    refuses(
      users('{ mode: async }'),
      EnvironmentError,
      /has no standby to fail over to/,
      /standby create users --to DIR/,
    );
    refuses(
      users('{ standby: db-replica-west }'),
      UsageError,
      /replication\.standby is "db-replica-west", a name/,
    );
    refuses(
      users('{ standby: env:STANDBY_URL, traffic: bouncr }') +
        'traffic:\n  bouncer: { type: pgbouncer, config: x.ini }\n',
      UsageError,
      /replication\.traffic names the traffic switch 'bouncr', which the plan does not declare/,
      /Declared under traffic: bouncer/,
    );
    refuses(
      users('{ standby: env:STANDBY_URL, traffic: web }') +
        'traffic:\n  web: { type: http, http: { url: "https://lb" } }\n',
      UsageError,
      /traffic\.web is of type http/,
    );
    refuses(
      users('{ standby: env:STANDBY_URL, traffic: bouncer }') +
        'traffic:\n  bouncer: { type: pgbouncer, config: missing.ini }\n',
      EnvironmentError,
      /^traffic\.bouncer\.config: \/plans\/missing\.ini does not exist/,
    );
    refuses(
      users('{ standby: env:STANDBY_URL, traffic: lb }') +
        'traffic:\n  lb: { type: haproxy, config: /run/admin.sock }\n',
      UsageError,
      /traffic\.lb\.backend is required/,
    );
  });

  test('the fence command and its timeout go to planFailover with the RPO; a secret is resolved', () => {
    const s = spec(
      users(
        '{ standby: env:STANDBY_URL, fence_command: "cloud stop {{host}}", fence_timeout: 10s }',
        'rpo: 0',
      ),
    );
    assert.deepEqual(s.limits, {
      rpoBytes: 0,
      fence: {
        command: 'cloud stop {{host}}',
        timeoutMs: 10_000,
        field: 'datasets.users.replication.fence_command',
        dataset: 'users',
      },
    });
    const secret = spec(users('{ standby: env:STANDBY_URL, fence_command: env:FENCE }'));
    assert.equal(secret.limits.fence?.command, 'cloud stop --token secret {{host}}');
    assert.equal(secret.limits.fence?.timeoutMs, 30_000);
  });

  test('a fence timeout without a command, or of 0, is refused', () => {
    refuses(
      users('{ standby: env:STANDBY_URL, fence_timeout: 10s }'),
      UsageError,
      /fence_timeout is set, but there is no datasets\.users\.replication\.fence_command/,
    );
    refuses(
      users('{ standby: env:STANDBY_URL, fence_command: "true", fence_timeout: 0 }'),
      UsageError,
      /fence_timeout must be more than 0/,
    );
  });
});
