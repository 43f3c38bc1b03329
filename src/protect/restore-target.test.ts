import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RefusedError, UsageError } from '../errors.js';
import { resolveTarget, type TargetRequest } from './restore-target.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-target-'));
mkdirSync(join(dir, 'files'));
after(() => rmSync(dir, { recursive: true, force: true }));

function request(over: Partial<TargetRequest>): TargetRequest {
  return {
    dataset: 'db',
    source: { type: 'postgres', url: 'postgres://app:secret@db.example:5432/postgres' },
    to: 'postgres://127.0.0.1:6000/copy',
    databases: [],
    backedUpDatabases: ['app'],
    planDir: dir,
    homeDir: join(dir, '.lifeboat'),
    cwd: dir,
    env: { RESTORE_URL: 'postgres://u:pw@10.0.0.1:5433/' },
    ...over,
  };
}

describe('resolveTarget', () => {
  test('a url naming a database takes the only backed-up database into it', () => {
    const spec = resolveTarget(request({}));
    assert.equal(spec.kind, 'postgres');
    assert.deepEqual(spec.kind === 'postgres' && spec.databases, { app: 'copy' });
    // Connected to a maintenance database, not to the new one (which does not exist yet).
    assert.equal(spec.kind === 'postgres' && spec.url, 'postgres://127.0.0.1:6000/postgres');
  });

  test('several databases: a url without one keeps names; --database picks and renames', () => {
    const several = { backedUpDatabases: ['app', 'postgres', 'reports'] };
    assert.throws(
      () => resolveTarget(request(several)),
      (e: unknown) => e instanceof UsageError && /holds 3/.test(e.message),
    );
    const same = resolveTarget(request({ ...several, to: 'env:RESTORE_URL' }));
    assert.deepEqual(same.kind === 'postgres' && same.databases, {
      app: 'app',
      postgres: 'postgres',
      reports: 'reports',
    });
    // The maintenance database moves to template1 when `postgres` itself is restored.
    assert.equal(same.kind === 'postgres' && same.url, 'postgres://u:pw@10.0.0.1:5433/template1');
    const picked = resolveTarget(
      request({ ...several, to: 'postgres://h:1/', databases: ['app=app_copy', 'reports'] }),
    );
    assert.deepEqual(picked.kind === 'postgres' && picked.databases, { app: 'app_copy', reports: 'reports' });
    const one = resolveTarget(request({ ...several, databases: ['reports'] }));
    assert.deepEqual(one.kind === 'postgres' && one.databases, { reports: 'copy' });
    assert.throws(
      () => resolveTarget(request({ ...several, databases: ['nope'] })),
      /holds no database 'nope'/,
    );
    assert.throws(
      () => resolveTarget(request({ ...several, to: 'postgres://h:1/', databases: ['app=x', 'reports=x'] })),
      /same database x/,
    );
  });

  test('--to source is the live server, same names', () => {
    const spec = resolveTarget(request({ to: 'source' }));
    assert.equal(spec.source, true);
    assert.equal(spec.kind === 'postgres' && spec.host, 'db.example');
    assert.throws(() => resolveTarget(request({ to: 'source', databases: ['app=other'] })), UsageError);
  });

  test('the wrong kind of target is a UsageError with the right forms', () => {
    assert.throws(
      () => resolveTarget(request({ to: './dir' })),
      (e: unknown) => e instanceof UsageError && /--to postgres:\/\//.test(e.hint ?? ''),
    );
    assert.throws(
      () => resolveTarget(request({ source: { type: 'files', paths: ['./files'] }, to: 'postgres://h/x' })),
      /restored into a directory/,
    );
    assert.throws(
      () =>
        resolveTarget(request({ source: { type: 'files', paths: ['./files'] }, to: 'x', databases: ['a'] })),
      /--database applies/,
    );
  });

  test('a directory inside the live source paths, or landing on them, is refused', () => {
    const files = { source: { type: 'files' as const, paths: ['./files'] } };
    assert.throws(() => resolveTarget(request({ ...files, to: './files/restored' })), RefusedError);
    // The dataset's paths land below --to by their own names: --to their parent lands on them.
    assert.throws(() => resolveTarget(request({ ...files, to: '.' })), RefusedError);
    assert.throws(() => resolveTarget(request({ ...files, to: './.lifeboat/x' })), RefusedError);
    const ok = resolveTarget(request({ ...files, to: './restored' }));
    assert.deepEqual(ok, { kind: 'directory', path: join(dir, 'restored'), source: false });
    assert.deepEqual(resolveTarget(request({ ...files, to: 'source' })), {
      kind: 'directory',
      path: '/',
      source: true,
      roots: [join(dir, 'files')],
    });
  });

  test('redis: a server url or a directory', () => {
    const redis = { source: { type: 'redis' as const, url: 'redis://127.0.0.1:6379' } };
    assert.equal(resolveTarget(request({ ...redis, to: 'redis://127.0.0.1:7000' })).kind, 'redis-server');
    assert.equal(resolveTarget(request({ ...redis, to: './rdb' })).kind, 'directory');
  });

  test('command: --to source needs a restore command', () => {
    assert.throws(
      () => resolveTarget(request({ source: { type: 'command', command: 'echo' }, to: 'source' })),
      /no restore command/,
    );
  });
});
