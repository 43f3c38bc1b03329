import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, RefusedError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import { newInstancePassword, stopAll } from '../../system/instance.js';
import { startPostgres, type PostgresInstance } from './sandbox.js';
import { compareFingerprints } from '../fingerprint.js';
import { postgresSource } from './source.js';
import { assertRestoredFingerprint } from './testing/restored-fingerprint.js';
import type { StreamUnit } from '../store.js';
import { pipeProducer, runToolOk } from '../../system/tool.js';

describe('postgres source', () => {
  let source: PostgresInstance;
  let target: PostgresInstance;
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-pg-test-'));
  const restored = { appdb: 'appdb', other: 'other_copy', postgres: 'postgres_restored' };

  before(async () => {
    // One password: the globals restored as they are set the target's postgres role to the source's.
    const password = newInstancePassword();
    [source, target] = await Promise.all([
      startPostgres({ fast: true, password }),
      startPostgres({ fast: true, password }),
    ]);
    await source.psqlScript(`
      CREATE ROLE app_owner LOGIN PASSWORD 'app-secret';
      CREATE DATABASE appdb OWNER app_owner;
      CREATE DATABASE other;`);
    await runToolOk('pgbench', [
      '-i',
      '-s',
      '1',
      '-q',
      '-h',
      source.socketDir,
      '-p',
      String(source.port),
      '-U',
      'postgres',
      'appdb',
    ]);
    await source.psqlScript(
      `CREATE TABLE kinds (id serial PRIMARY KEY, label text, doc jsonb, blob bytea, at timestamptz, ratio double precision);
       INSERT INTO kinds (label, doc, blob, at, ratio) VALUES
         ('plain', '{"a": [1, 2, {"b": null}]}', '\\x00ff10', '2024-02-29 12:00:00+02', 0.1),
         (NULL, NULL, NULL, NULL, NULL),
         ('', '{}', '', 'infinity', 'NaN'),
         (E'tab\\there, "quotes", comma, newline\\nand ünïcödé', '"just a string"', decode('deadbeef', 'hex'), now(), 1e-300);
       ALTER TABLE kinds OWNER TO app_owner;
       CREATE SCHEMA "Odd Schema";
       CREATE TABLE "Odd Schema"."Mixed Case" (v int);
       INSERT INTO "Odd Schema"."Mixed Case" SELECT generate_series(1, 50);`,
      'appdb',
    );
    await source.psqlScript(
      "CREATE TABLE notes (n text); INSERT INTO notes VALUES ('one'), ('two');",
      'other',
    );
  });

  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('dumps every database and the globals, restores them into another server, fingerprints match', async () => {
    const pg = postgresSource({ type: 'postgres', url: source.url });
    await pg.check();
    const units = (await pg.units()) as StreamUnit[];
    assert.deepEqual(
      units.map((u) => u.filename),
      ['postgres/globals.sql', 'postgres/appdb.dump', 'postgres/other.dump', 'postgres/postgres.dump'],
    );
    for (const unit of units) {
      assert.ok(!unit.producer.args.join(' ').includes('secret'));
      await pipeProducer(unit.producer, createWriteStream(join(dir, encodeURIComponent(unit.filename))));
    }

    const into = { kind: 'server' as const, url: target.url, databases: restored };
    for (const unit of units) {
      const jobs = unit.filename === 'postgres/appdb.dump' ? 2 : 1;
      await pg.restoreUnit(unit.filename, createReadStream(join(dir, encodeURIComponent(unit.filename))), {
        ...into,
        jobs,
      });
    }
    // Roles came along, with their ownership.
    assert.deepEqual(
      await target.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'kinds'", 'appdb'),
      [['app_owner']],
    );

    const expected = await pg.fingerprint();
    const actual = await pg.fingerprintOf(into);
    assert.ok(Object.keys(expected.items).includes('appdb/table/public.pgbench_accounts'));
    assert.ok(Object.keys(expected.items).includes('appdb/table/"Odd Schema"."Mixed Case"'));
    assert.equal(expected.items['appdb/table/public.pgbench_accounts']?.rows, 100000);
    assertRestoredFingerprint(expected, actual);

    // A restore that lost one row or changed one value is caught.
    await target.psql('DELETE FROM pgbench_accounts WHERE aid = 77', 'appdb');
    await target.psql("UPDATE kinds SET doc = '{}' WHERE label = 'plain'", 'appdb');
    const changed = compareFingerprints(expected, await pg.fingerprintOf(into));
    assert.equal(changed.equal, false);
    assert.ok(
      changed.differences.some((d) =>
        d.startsWith('appdb/table/public.pgbench_accounts: rows expected 100000, got 99999'),
      ),
    );
    assert.ok(changed.differences.some((d) => d.startsWith('appdb/table/public.kinds: checksum')));
    // Database properties aside: see assertRestoredFingerprint.
    assert.equal(changed.differences.filter((d) => !/^\w+\/database: /.test(d)).length, 3);
  });

  test('restores only the chosen database and never into an existing one', async () => {
    const pg = postgresSource({ type: 'postgres', url: source.url, databases: ['other'] });
    const [unit] = (await pg.units()).filter(
      (u): u is StreamUnit => u.kind === 'stream' && u.filename.endsWith('.dump'),
    );
    assert.equal(unit?.filename, 'postgres/other.dump');
    const file = join(dir, 'other-only.dump');
    await pipeProducer(unit.producer, createWriteStream(file));
    const into = { kind: 'server' as const, url: target.url, databases: { other: 'other_selected' } };
    await pg.restoreUnit(unit.filename, createReadStream(file), into);
    assert.equal(compareFingerprints(await pg.fingerprint(), await pg.fingerprintOf(into)).equal, true);
    await assert.rejects(pg.restoreUnit(unit.filename, createReadStream(file), into), RefusedError);
  });

  test('column hashes: types hashed by value alone survive a restore, and a moved value is caught', async () => {
    await source.psql('CREATE DATABASE typed');
    await source.psqlScript(
      `CREATE TYPE mood AS ENUM ('calm', 'busy');
       CREATE DOMAIN positive AS int CHECK (VALUE > 0);
       CREATE TABLE t (gone int, id positive, day date, ok bool, at timestamptz, m mood, moods mood[],
         tags text[], ns int[], doc jsonb, raw json, pt point, span int4range, amount numeric, "Odd ""Name""" text);
       INSERT INTO t VALUES
         (0, 1, '2024-02-29', true, '2024-02-29 12:00+02', 'calm', '{calm,busy}', '{a,"b c"}', '{1,NULL}',
          '{"k": [1]}', '[1, 2]', '(1,2)', '[1,5)', 1.50, 'x'),
         (0, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (0, 3, '2024-03-01', false, '-infinity', 'busy', '{}', '{}', '{}', '{}', '{}', '(0,0)', 'empty', 0, '');
       ALTER TABLE t DROP COLUMN gone;`,
      'typed',
    );
    // The target numbers its enums differently from the source.
    await target.psql('CREATE DATABASE shift');
    await target.psqlScript("CREATE TYPE filler AS ENUM ('a', 'b', 'c');", 'shift');
    const pg = postgresSource({ type: 'postgres', url: source.url, databases: ['typed'] });
    const unit = (await pg.units()).find(
      (u): u is StreamUnit => u.kind === 'stream' && u.filename === 'postgres/typed.dump',
    )!;
    const file = join(dir, 'typed.dump');
    await pipeProducer(unit.producer, createWriteStream(file));
    const into = { kind: 'server' as const, url: target.url, databases: { typed: 'typed_copy' } };
    await pg.restoreUnit(unit.filename, createReadStream(file), into);

    const recorded = await pg.fingerprint();
    assert.equal(recorded.method, 'column-hashes');
    assert.equal(recorded.items['typed/table/public.t']?.rows, 3);
    assert.deepEqual(compareFingerprints(recorded, await pg.fingerprintOf(into, recorded)), {
      equal: true,
      differences: [],
    });
    // Two rows trading a value keep every column's multiset of values: still caught.
    await target.psql(
      'UPDATE t SET "Odd ""Name""" = CASE id WHEN 1 THEN \'\' ELSE \'x\' END WHERE id IN (1, 3)',
      'typed_copy',
    );
    assert.deepEqual(
      compareFingerprints(recorded, await pg.fingerprintOf(into, recorded)).differences.map(
        (d) => d.split(':')[0],
      ),
      ['typed/table/public.t'],
    );
    // A backup measured the previous way is compared the previous way.
    const previous = await postgresSource({
      type: 'postgres',
      url: target.url,
      databases: ['typed_copy'],
    }).fingerprintOf({ kind: 'server', url: target.url }, { ...recorded, method: 'hashtextextended' });
    assert.equal(previous.method, 'hashtextextended');
    assert.match(String(previous.items['typed_copy/table/public.t']?.checksum), /^-?\d+$/);
  });

  test('a capture dumps and measures one snapshot: exact under writes that land in between', async () => {
    const pg = postgresSource({ type: 'postgres', url: source.url, databases: ['other'] });
    const capture = await pg.capture!();
    // Written after the snapshot was exported, before pg_dump starts: neither may see it.
    await source.psql("INSERT INTO notes VALUES ('late')", 'other');
    const unit = capture.units.find(
      (u): u is StreamUnit => u.kind === 'stream' && u.filename.endsWith('.dump'),
    )!;
    assert.ok(unit.producer.args.some((a) => a.startsWith('--snapshot=')));
    const file = join(dir, 'captured.dump');
    await pipeProducer(unit.producer, createWriteStream(file));
    const recorded = await capture.fingerprint;
    await capture.close();
    assert.equal(recorded.method, 'column-hashes');
    assert.equal(recorded.items['other/table/public.notes']?.rows, 2);
    const into = { kind: 'server' as const, url: target.url, databases: { other: 'other_captured' } };
    await pg.restoreUnit(unit.filename, createReadStream(file), into);
    assert.deepEqual(compareFingerprints(recorded, await pg.fingerprintOf(into, recorded)), {
      equal: true,
      differences: [],
    });
    // A fingerprint of an older backup (md5, no method) is measured its own way.
    const old = { ...recorded, items: { ...recorded.items } };
    delete old.method;
    const md5Sum = (
      await target.psql(
        "SELECT sum(('x' || left(md5(t::text), 16))::bit(64)::bigint) FROM notes t",
        'other_captured',
      )
    )[0]?.[0];
    old.items['other/table/public.notes'] = { rows: 2, checksum: md5Sum ?? '' };
    assert.equal(compareFingerprints(old, await pg.fingerprintOf(into, old)).equal, true);
    // A changed row is caught.
    await target.psql("UPDATE notes SET n = 'One' WHERE n = 'one'", 'other_captured');
    const changed = compareFingerprints(recorded, await pg.fingerprintOf(into, recorded));
    assert.deepEqual(
      changed.differences.map((d) => d.split(':')[0]),
      ['other/table/public.notes'],
    );
    await source.psql("DELETE FROM notes WHERE n = 'late'", 'other');
  });

  test('an unreachable server is an EnvironmentError naming host and port, not the password', async () => {
    const port = await freePort();
    const pg = postgresSource({
      type: 'postgres',
      url: `postgres://app:hunter2secret@127.0.0.1:${port}/appdb`,
    });
    await assert.rejects(pg.check(), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(JSON.stringify({ m: error.message, d: error.details, h: error.hint }), /hunter2/);
      return true;
    });
  });
});
