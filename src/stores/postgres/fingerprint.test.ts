/**
 * The PostgreSQL fingerprint, category by category: two throwaway servers built by the same
 * script (one with its OIDs shifted by other objects first) measure alike, and one change in
 * any category is caught and named by that category alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { categoryOf, compareFingerprints, diffFingerprints, type Fingerprint } from '../fingerprint.js';
import { POSTGRES_CATEGORIES } from './fingerprint.js';
import { startPostgres, type PostgresInstance } from './sandbox.js';
import { postgresSource } from './source.js';
import { everyKindSql, rolesSql } from './testing/every-kind.js';

describe('postgres fingerprint of every kind of object', () => {
  let a: PostgresInstance;
  let b: PostgresInstance;
  const measure = (server: PostgresInstance) =>
    postgresSource({ type: 'postgres', url: server.url, databases: ['kinds'] }).fingerprint();
  const differingIn = (before: Fingerprint, after: Fingerprint) => [
    ...new Set(diffFingerprints(before, after).map((d) => categoryOf(d.key)?.category ?? d.key)),
  ];

  before(async () => {
    [a, b] = await Promise.all([startPostgres({ fast: true }), startPostgres({ fast: true })]);
    // Server b numbers everything differently: the fingerprint must not notice.
    await b.psql('CREATE DATABASE pad');
    await b.psqlScript(
      "CREATE ROLE pad_role; CREATE TYPE e AS ENUM ('x'); CREATE TABLE t (a int); CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1;",
      'pad',
    );
    for (const server of [a, b]) {
      await server.psqlScript(rolesSql);
      await server.psql('CREATE DATABASE kinds');
      await server.psqlScript(everyKindSql('kinds'), 'kinds');
    }
  });

  after(() => stopAll());

  test('two servers holding the same objects measure alike, in every category', async () => {
    const [fa, fb] = await Promise.all([measure(a), measure(b)]);
    assert.deepEqual(fa.categories, [...POSTGRES_CATEGORIES]);
    assert.deepEqual(compareFingerprints(fa, fb), { equal: true, differences: [] });
    for (const key of [
      'kinds/table/app.everything',
      'kinds/table/app.measurements_2024',
      'kinds/table/app.dogs',
      'kinds/sequence/app.tickets',
      'kinds/definition/table app.everything',
      'kinds/definition/partitioned table app.measurements',
      'kinds/definition/view app.big_orders',
      'kinds/definition/materialized view app.order_totals',
      'kinds/definition/function app.add(a integer, b integer)',
      'kinds/definition/function app.touch()',
      'kinds/definition/procedure app.bump(IN n integer)',
      'kinds/definition/aggregate app.total_of(integer)',
      'kinds/definition/enum app.mood',
      'kinds/definition/domain app.positive',
      'kinds/definition/composite type app.address',
      'kinds/definition/range type app.floatrange',
      'kinds/definition/sequence app.tickets',
      'kinds/definition/schema app',
      'kinds/definition/extension plpgsql',
      'kinds/grant/view app.big_orders',
      'kinds/grant/table app.customers column name',
      'kinds/grant/function app.touch()',
      'kinds/grant/schema app',
      'kinds/large-objects',
      'kinds/database',
    ]) {
      assert.ok(key in fa.items, `${key} is measured`);
    }
    assert.equal(fa.items['kinds/table/app.everything']?.rows, 2);
    assert.equal(fa.items['kinds/large-objects']?.count, 2);
    assert.deepEqual(fa.items['kinds/database'], {
      owner: 'kinds_owner',
      encoding: 'UTF8',
      collate: 'C',
      ctype: 'C',
      acl: '=T/kinds_owner,kinds_owner=CTc/kinds_owner,kinds_reader=c/kinds_owner',
      settings: 'search_path=app, public',
      comment: 'every kind',
    });
  });

  test("only a capture, which shares the dump's snapshot, claims a consistent fingerprint", async () => {
    const source = postgresSource({ type: 'postgres', url: a.url, databases: ['kinds'] });
    const capture = await source.capture!();
    const captured = await capture.fingerprint.finally(() => capture.close());
    assert.equal(captured.consistent, true);
    assert.deepEqual(captured.advancing, ['sequences']);
    assert.deepEqual(compareFingerprints(captured, await source.fingerprint()), {
      equal: true,
      differences: [],
    });
    assert.equal((await source.fingerprint()).consistent, undefined);
  });

  test('one change in any category is caught, and named by that category alone', async () => {
    const changes: [string, string][] = [
      ['rows', "UPDATE app.customers SET name = 'adb' WHERE name = 'ada'"],
      ['rows', 'DELETE FROM app.measurements_rest'],
      ['sequences', "SELECT setval('app.tickets', 110)"],
      [
        'definitions',
        'CREATE OR REPLACE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a - b',
      ],
      [
        'definitions',
        'CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
      ],
      [
        'definitions',
        'CREATE OR REPLACE VIEW app.big_orders AS SELECT o.id, c.name, o.total FROM app.orders o JOIN app.customers c ON c.id = o.customer WHERE o.total > 6',
      ],
      ['definitions', 'ALTER TABLE app.orders DISABLE TRIGGER orders_touch'],
      ['definitions', 'DROP INDEX app.customers_lower'],
      ['definitions', 'ALTER POLICY own_rows ON app.customers USING (true)'],
      ['definitions', 'DROP RULE no_delete ON app.animals'],
      ['definitions', 'ALTER TABLE app.scratch ALTER k TYPE varchar(5)'],
      ['definitions', "COMMENT ON COLUMN app.everything.t IS 'other text'"],
      ['definitions', 'ALTER TABLE app.scratch OWNER TO kinds_owner'],
      ['definitions', "ALTER TYPE app.mood ADD VALUE 'sad'"],
      ['definitions', 'ALTER DOMAIN app.positive DROP DEFAULT'],
      ['definitions', 'ALTER SEQUENCE app.tickets INCREMENT 10'],
      ['definitions', 'ALTER TABLE app.customers DISABLE ROW LEVEL SECURITY'],
      ['large objects', "SELECT lo_put(424242, 0, '\\x09')"],
      ['large objects', 'GRANT UPDATE ON LARGE OBJECT 424243 TO kinds_reader'],
      ['grants', 'REVOKE SELECT ON app.big_orders FROM kinds_reader'],
      ['grants', 'GRANT INSERT ON app.orders TO kinds_reader'],
      ['database properties', 'ALTER DATABASE kinds RESET search_path'],
      ['database properties', "COMMENT ON DATABASE kinds IS 'changed'"],
      ['database properties', 'GRANT CREATE ON DATABASE kinds TO kinds_reader'],
    ];
    let before = await measure(b);
    for (const [category, sql] of changes) {
      await b.psqlScript(sql, 'kinds');
      const after = await measure(b);
      assert.deepEqual(differingIn(before, after), [category], sql);
      before = after;
    }
  });
});
