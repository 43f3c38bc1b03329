import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, RefusedError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import { stopAll } from '../../system/instance.js';
import { startMariadb, type MariadbInstance } from './sandbox.js';
import { compareFingerprints } from '../fingerprint.js';
import { mysqlSource } from './source.js';
import type { StreamUnit } from '../store.js';
import { pipeProducer } from '../../system/tool.js';

describe('mysql source', () => {
  let source: MariadbInstance;
  let target: MariadbInstance;
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mysql-test-'));

  before(async () => {
    [source, target] = await Promise.all([startMariadb({ fast: true }), startMariadb({ fast: true })]);
    await source.query(`
      CREATE DATABASE shop;
      CREATE DATABASE \`odd-name\`;
      CREATE USER 'backup'@'%' IDENTIFIED BY 'dump-secret';
      GRANT ALL ON *.* TO 'backup'@'%';
      USE shop;
      CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), note TEXT, photo BLOB, born DATE, score DOUBLE, prefs JSON);
      INSERT INTO customers (name, note, photo, born, score, prefs) VALUES
        ('Ada', 'tab\there "and" quotes', UNHEX('00FF10'), '1815-12-10', 0.1, '{"a": [1, null]}'),
        (NULL, NULL, NULL, NULL, NULL, NULL),
        ('', '', '', '2000-02-29', -1e300, '{}'),
        ('NULL', 'ünïcödé\nnew line', UNHEX('DEADBEEF'), '1970-01-01', 3, '[]');
      CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer INT, total DECIMAL(10,2), at TIMESTAMP DEFAULT '2024-01-01 00:00:00', FOREIGN KEY (customer) REFERENCES customers(id)) ENGINE=InnoDB;
      INSERT INTO orders (customer, total) SELECT 1 + seq % 4, seq / 7 FROM seq_1_to_2000;
      CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
      CREATE TRIGGER orders_check BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = ABS(NEW.total);
      CREATE PROCEDURE count_orders() SELECT COUNT(*) FROM orders;
      USE \`odd-name\`;
      CREATE TABLE \`weird table\` (\`a col\` INT);
      INSERT INTO \`weird table\` VALUES (1), (2), (NULL);`);
  });

  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('dumps each database, restores into another server, fingerprints match', async () => {
    const url = source.url.replace('root@', 'backup:dump-secret@');
    const mysql = mysqlSource({ type: 'mysql', url });
    await mysql.check();
    const units = (await mysql.units()) as StreamUnit[];
    assert.deepEqual(
      units.map((u) => u.filename),
      ['mysql/odd-name.sql', 'mysql/shop.sql'],
    );
    for (const unit of units) {
      assert.ok(!unit.producer.args.join(' ').includes('dump-secret'));
      await pipeProducer(unit.producer, createWriteStream(join(dir, encodeURIComponent(unit.filename))));
    }
    const into = {
      kind: 'server' as const,
      url: target.url,
      databases: { shop: 'shop', 'odd-name': 'odd_restored' },
    };
    for (const unit of units) {
      await mysql.restoreUnit(
        unit.filename,
        createReadStream(join(dir, encodeURIComponent(unit.filename))),
        into,
      );
    }
    const expected = await mysql.fingerprint();
    assert.equal(expected.items['shop/table/orders']?.rows, 2000);
    assert.deepEqual(expected.items['shop/objects'], { views: 1, routines: 1, triggers: 1, events: 0 });
    assert.deepEqual(compareFingerprints(expected, await mysql.fingerprintOf(into)), {
      equal: true,
      differences: [],
    });

    await target.query('DELETE FROM orders WHERE id = 5', 'shop');
    await target.query("UPDATE customers SET note = 'changed' WHERE name = 'Ada'", 'shop');
    const changed = compareFingerprints(expected, await mysql.fingerprintOf(into));
    assert.equal(changed.equal, false);
    assert.ok(
      changed.differences.some((d) => d.startsWith('shop/table/orders: rows expected 2000, got 1999')),
    );
    assert.ok(changed.differences.some((d) => d.startsWith('shop/table/customers: checksum')));

    await assert.rejects(
      mysql.restoreUnit(
        'mysql/shop.sql',
        createReadStream(join(dir, encodeURIComponent('mysql/shop.sql'))),
        into,
      ),
      RefusedError,
    );
  });

  test('an unreachable server is an EnvironmentError naming host and port, not the password', async () => {
    const port = await freePort();
    const mysql = mysqlSource({ type: 'mysql', url: `mysql://app:hunter2secret@127.0.0.1:${port}/` });
    await assert.rejects(mysql.check(), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(JSON.stringify({ m: error.message, d: error.details, h: error.hint }), /hunter2/);
      return true;
    });
  });
});
