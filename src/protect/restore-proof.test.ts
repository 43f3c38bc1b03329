/**
 * The verdict on a restored copy: a fingerprint measured in the dump's own snapshot leaves
 * no difference to excuse, whatever the policy, but sequences found advanced (no snapshot
 * holds them); a fingerprint measured live keeps the lenient policy's benefit of the doubt.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CheckResult } from './checks.js';
import { judge } from './restore-proof.js';
import type { RestorePlan } from './restore-plan.js';
import type { FingerprintReport } from './restore-result.js';

const plan = { dataset: 'app' } as RestorePlan;
const passing: CheckResult[] = [{ name: 'orders', ok: true, expected: '3', actual: '3' } as CheckResult];
const differs = (extra: Partial<FingerprintReport>): FingerprintReport => ({
  compared: true,
  equal: false,
  differences: ['app/table/public.orders: checksum expected "1", got "2"'],
  items: 10,
  categories: ['rows', 'sequences'],
  differingIn: ['rows of app'],
  ...extra,
});

describe('judge', () => {
  test('a difference from a consistent fingerprint fails under both policies, naming where', () => {
    for (const policy of ['lenient', 'strict'] as const) {
      const verdict = judge(plan, differs({ consistent: true }), passing, policy);
      assert.equal(verdict.ok, false, policy);
      assert.match(
        verdict.error ?? '',
        /differs from the fingerprint recorded at backup time in rows of app/,
      );
      assert.match(verdict.error ?? '', /app\/table\/public\.orders: checksum expected "1", got "2"/);
      assert.match(verdict.error ?? '', /no write to the source explains this/);
      assert.deepEqual(verdict.warnings, []);
    }
  });

  test('sequences found advanced are a warning under the lenient policy only', () => {
    const advanced = 'app/sequence/public.orders_id_seq: value expected "3", got "5"';
    const report = differs({
      consistent: true,
      differences: [advanced],
      differingIn: ['sequences of app'],
      advanced: [advanced],
    });
    const lenient = judge(plan, report, passing, 'lenient');
    assert.equal(lenient.ok, true);
    assert.match(lenient.warnings[0] ?? '', /Sequences are read outside any snapshot/);
    assert.equal(judge(plan, report, passing, 'strict').ok, false);
    const alsoRows = judge(
      plan,
      { ...report, differences: [advanced, 'app/table/public.orders: rows expected 3, got 2'] },
      passing,
      'lenient',
    );
    assert.equal(alsoRows.ok, false);
  });

  test('a fingerprint measured live (older backups) keeps the lenient benefit of the doubt when the checks pass', () => {
    assert.equal(judge(plan, differs({}), passing, 'lenient').ok, true);
    assert.equal(judge(plan, differs({}), [], 'lenient').ok, false);
    assert.equal(judge(plan, differs({}), passing, 'strict').ok, false);
  });
});
