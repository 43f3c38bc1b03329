/** Doctor's small checks, one concern each, on inputs made here. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parsePlan } from '../plan/load.js';
import { createProtectContext } from '../protect/context.js';
import {
  checkKeyFile,
  checkPlan,
  checkPostgresClients,
  checkRepository,
  planUses,
  postgresMajor,
  repositoryAccess,
} from './index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-doctor-unit-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PLAN = `version: 1
organization: Unit
datasets:
  db:
    rpo: 1h
    source: { type: postgres, url: "postgres://postgres@127.0.0.1:5999/app" }
    backup: { every: 15m }
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h, repository: offsite }
  media:
    rpo: 1d
    source: { type: external }
repositories:
  offsite:
    url: s3:https://s3.example.test/bucket/lifeboat
    password: env:OFFSITE_PASSWORD
    env: { AWS_SECRET_ACCESS_KEY: env:AWS_SECRET_ACCESS_KEY }
  nas: { url: ./nas }
`;

function context(env: NodeJS.ProcessEnv = {}) {
  return createProtectContext(parsePlan(PLAN, join(dir, 'lifeboat.yaml')), {
    LIFEBOAT_HOME: join(dir, 'home'),
    ...env,
  });
}

describe('doctor checks', () => {
  test('planUses: a tool is required only when a dataset needs it', () => {
    const uses = planUses(parsePlan(PLAN).plan);
    assert.deepEqual(uses, { postgres: true, mysql: false, redis: false, pgbackrest: false });
    assert.deepEqual(planUses(undefined), { postgres: false, mysql: false, redis: false, pgbackrest: false });
  });

  test('postgresMajor reads the version line of every PostgreSQL client', () => {
    assert.equal(postgresMajor('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)'), 15);
    assert.equal(postgresMajor('pg_restore (PostgreSQL) 17.2'), 17);
    assert.equal(postgresMajor('not installed'), undefined);
  });

  test('pg_dump newer than pg_restore is a failure, the other way round a warning', () => {
    const tool = (name: string, major: number) => ({
      name,
      ok: true,
      detail: `${name} (PostgreSQL) ${major}.1`,
    });
    assert.deepEqual(checkPostgresClients(tool('pg_dump', 15), tool('pg_restore', 15)), []);
    const [older] = checkPostgresClients(tool('pg_dump', 16), tool('pg_restore', 15));
    assert.equal(older?.ok, false);
    const [newer] = checkPostgresClients(tool('pg_dump', 15), tool('pg_restore', 16));
    assert.equal(newer?.ok, true);
    assert.equal(newer?.warning, true);
  });

  test('repositoryAccess: the default key file, a named one, and a password from the environment', () => {
    const ctx = context({ OFFSITE_PASSWORD: 'pw', AWS_SECRET_ACCESS_KEY: 'secret' });
    const local = repositoryAccess(ctx.plan, 'local', ctx);
    assert.deepEqual(local.keyFile, { path: join(dir, 'home', 'repository.key'), generated: true });
    assert.equal(local.access.url, join(dir, 'home', 'repository'));
    const nas = repositoryAccess(ctx.plan, 'nas', ctx);
    assert.equal(nas.access.url, join(dir, 'nas'));
    assert.deepEqual(nas.keyFile, { path: join(dir, 'home', 'nas.key'), generated: true });
    const offsite = repositoryAccess(ctx.plan, 'offsite', ctx);
    assert.equal(offsite.local, false);
    assert.equal(offsite.access.password, 'pw');
    assert.deepEqual(offsite.access.env, { AWS_SECRET_ACCESS_KEY: 'secret' });
    assert.equal(offsite.keyFile, undefined);
  });

  test('repositoryAccess never creates the key file (a lost key must stay visible)', () => {
    const info = repositoryAccess(context().plan, 'local', context());
    const check = checkKeyFile(info);
    assert.equal(check?.ok, true);
    assert.equal(check?.warning, true);
    assert.match(check?.detail ?? '', /does not exist yet/);
  });

  test('a key file readable by others fails with the chmod that fixes it', () => {
    const home = join(dir, 'home');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'nas.key'), 'k\n', { mode: 0o640 });
    const check = checkKeyFile(repositoryAccess(context().plan, 'nas', context()));
    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? '', /mode 0640/);
    assert.equal(check?.fix, `chmod 600 ${join(home, 'nas.key')}`);
  });

  test('a repository that does not answer in time is reported as such, not as missing', async () => {
    // A REST server that accepts connections and never answers.
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const info = {
        id: 'slow',
        access: { url: `rest:http://127.0.0.1:${port}/`, password: 'x' },
        local: false,
      };
      const started = Date.now();
      const check = await checkRepository(info, { env: process.env, hasBackups: true, timeoutMs: 1500 });
      assert.equal(check.ok, false);
      assert.equal(check.detail, `rest:http://127.0.0.1:${port}/ did not answer within 1.5 s`);
      assert.match(check.fix ?? '', /reachable/);
      assert.ok(Date.now() - started < 10_000, 'restic was stopped at the timeout');
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  test('checkPlan: missing, invalid, valid', () => {
    assert.match(checkPlan('/x/lifeboat.yaml', undefined).detail, /^no plan at \/x\/lifeboat\.yaml/);
    const invalid = checkPlan('/x/lifeboat.yaml', parsePlan('version: 1\norganization: X\nbogus: 1\n'));
    assert.equal(invalid.ok, false);
    assert.match(invalid.fix ?? '', /lifeboat plan check/);
    assert.match(checkPlan('/x/lifeboat.yaml', parsePlan(PLAN)).detail, /3 dataset\(s\)/);
  });
});
