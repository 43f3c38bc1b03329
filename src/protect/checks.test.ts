import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compare, runChecks } from './checks.js';

describe('compare', () => {
  test('equals: numbers numerically, booleans loosely, strings exactly', () => {
    assert.equal(compare({ expect: { equals: 1000 } }, '1000').ok, true);
    assert.equal(compare({ expect: { equals: 1000 } }, '1000.0').ok, true);
    assert.equal(compare({ expect: { equals: 1000 } }, '999').ok, false);
    assert.equal(compare({ expect: { equals: 1000 } }, null).ok, false);
    assert.equal(compare({ expect: { equals: true } }, 't').ok, true);
    assert.equal(compare({ expect: { equals: false } }, 'true').ok, false);
    assert.equal(compare({ expect: { equals: 'ok' } }, 'ok').ok, true);
    assert.equal(compare({ expect: { equals: 'ok' } }, 'OK').ok, false);
  });

  test('min and max are inclusive and need a number', () => {
    assert.equal(compare({ expect: { min: 1, max: 10 } }, '1').ok, true);
    assert.equal(compare({ expect: { min: 1, max: 10 } }, '10').ok, true);
    assert.match(compare({ expect: { min: 1 } }, '0').error!, /at least 1/);
    assert.match(compare({ expect: { max: 1 } }, 'abc').error!, /a number/);
    assert.equal(compare({ expect: { min: 1 } }, '').ok, false);
  });

  test('no expect accepts anything', () => {
    assert.equal(compare({}, null).ok, true);
  });
});

describe('command checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-checks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('run in the target dir with LIFEBOAT_TARGET_DIR, must exit 0, may compare output', async () => {
    writeFileSync(join(dir, 'data.txt'), 'a\nb\nc\n');
    const results = await runChecks(
      {
        verify: {
          checks: [
            {
              name: 'three lines',
              command: 'wc -l < "$LIFEBOAT_TARGET_DIR/data.txt"',
              expect: { equals: 3 },
            },
            { name: 'relative', command: 'test -s data.txt' },
            { name: 'fails', command: 'echo nope >&2; exit 3' },
            { name: 'wrong output', command: 'echo 2', expect: { min: 5 } },
            { name: 'sql on files', sql: 'select 1' },
          ],
        },
      },
      { type: 'files', dir, cwd: '/' },
    );
    assert.deepEqual(
      results.map((r) => [r.name, r.ok]),
      [
        ['three lines', true],
        ['relative', true],
        ['fails', false],
        ['wrong output', false],
        ['sql on files', false],
      ],
    );
    assert.match(results[2]!.error!, /exited with 3: nope/);
    assert.match(results[4]!.error!, /PostgreSQL or MySQL/);
  });
});
