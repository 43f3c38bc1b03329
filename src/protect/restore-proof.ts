/**
 * Proving a restore: the restored copy against the fingerprint recorded at backup time, and
 * the verdict with the dataset's checks (strict for verify, lenient for a restore of a busy
 * source). A fingerprint measured in the dump's own state (`consistent`) leaves no room for
 * leniency: whatever differs was not what the backup stored.
 */
import { coerceError, describeError } from '../errors.js';
import { type CheckResult } from './checks.js';
import {
  categoriesOf,
  categoryOf,
  diffFingerprints,
  isDatabaseServer,
  type Fingerprint,
  type FingerprintDifference,
  type RestoreTarget,
  type Source,
  type Store,
  type StreamedHash,
} from '../stores/index.js';
import type { RestorePlan } from './restore-plan.js';
import type { FingerprintReport } from './restore-result.js';

export async function proveFingerprint(
  plan: RestorePlan,
  store: Store,
  source: Source,
  target: RestoreTarget,
  streamedHash: StreamedHash | undefined,
): Promise<FingerprintReport> {
  const recorded = plan.recoveryPoint.fingerprint;
  if (store.proof === 'streamed-hash') {
    const unit = plan.units[0];
    const want = unit && recorded?.items[unit.filename];
    if (!want || !streamedHash) {
      return {
        compared: false,
        equal: false,
        differences: [],
        items: 0,
        note: 'a command dataset is proven by its checks',
      };
    }
    const differences = (['sha256', 'bytes'] as const)
      .filter((f) => want[f] !== streamedHash[f])
      .map((f) => `${unit.filename}: ${f} recorded ${String(want[f])}, restored ${String(streamedHash[f])}`);
    return {
      compared: false,
      equal: differences.length === 0,
      differences,
      items: 1,
      note: "a command's fingerprint is a second run of the command, equal only for stable output; its checks prove it",
    };
  }
  if (!recorded)
    return {
      compared: false,
      equal: false,
      differences: [],
      items: 0,
      note: 'no fingerprint was recorded with this backup',
    };
  let restored: Fingerprint;
  try {
    restored = await source.fingerprintOf(target, recorded);
  } catch (error) {
    return {
      compared: true,
      equal: false,
      differences: [`the restored copy could not be measured: ${describeError(coerceError(error))}`],
      items: 0,
    };
  }
  const expected = scopeFingerprint(recorded, plan);
  const found = diffFingerprints(expected, restored);
  const advancing = new Set(recorded.consistent ? (recorded.advancing ?? []) : []);
  const advanced = found.filter((d) => advancing.has(categoryOf(d.key)?.category ?? '') && isAdvance(d));
  return {
    compared: true,
    equal: found.length === 0,
    differences: found.map((d) => d.text),
    items: Object.keys(expected.items).length,
    categories: categoriesOf(recorded),
    differingIn: [...new Set(found.map((d) => whereOf(d.key)))],
    ...(recorded.consistent ? { consistent: true } : {}),
    ...(advanced.length > 0 ? { advanced: advanced.map((d) => d.text) } : {}),
  };
}

/** `definitions of appdb`, `database properties of appdb`; other items by their key. */
function whereOf(key: string): string {
  if (key === '') return 'the way it was measured';
  const where = categoryOf(key);
  return where ? `${where.category} of ${where.database}` : key;
}

/** A value that moved forward since it was recorded (a sequence used in between; `unused`: not yet). */
function isAdvance(d: FingerprintDifference): boolean {
  const order = (v: unknown): bigint | undefined =>
    v === 'unused' ? -(2n ** 64n) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : undefined;
  const [from, to] = [order(d.expected), order(d.actual)];
  return from !== undefined && to !== undefined && to > from;
}

/** A selective database restore is compared on the databases it restored only. */
function scopeFingerprint(recorded: Fingerprint, plan: RestorePlan): Fingerprint {
  const target = plan.target;
  if (!isDatabaseServer(target)) return recorded;
  const prefixes = Object.keys(target.databases).map((db) => `${db}/`);
  return {
    ...recorded,
    items: Object.fromEntries(
      Object.entries(recorded.items).filter(([key]) => prefixes.some((p) => key.startsWith(p))),
    ),
  };
}

export function judge(
  plan: RestorePlan,
  fingerprint: FingerprintReport,
  checks: CheckResult[],
  policy: 'strict' | 'lenient',
): { ok: boolean; warnings: string[]; error?: string } {
  const failedChecks = checks.filter((c) => !c.ok);
  const warnings: string[] = [];
  const problems: string[] = [];
  if (failedChecks.length > 0) {
    problems.push(
      `${failedChecks.length} check(s) failed: ${failedChecks.map((c) => `${c.name} (${c.error ?? 'failed'})`).join('; ')}`,
    );
  }
  if (fingerprint.compared && !fingerprint.equal) {
    const where = fingerprint.differingIn?.length ? ` in ${fingerprint.differingIn.join(', ')}` : '';
    const summary = `the restored copy differs from the fingerprint recorded at backup time${where}, ${fingerprint.differences.length} difference(s): ${fingerprint.differences.slice(0, 3).join('; ')}${fingerprint.differences.length > 3 ? '; …' : ''}`;
    if (fingerprint.consistent) {
      const explained = fingerprint.advanced?.length ?? 0;
      if (policy === 'lenient' && explained === fingerprint.differences.length) {
        warnings.push(
          `${summary}. Sequences are read outside any snapshot, by pg_dump and by the fingerprint alike: writes between the two reads advance them`,
        );
      } else {
        problems.push(
          `${summary}. The fingerprint was measured in the very snapshot the backup dumped, so no write to the source explains this: the restored copy is not what was backed up. Restore again into a new target; if it differs again, restore an older recovery point and check the repository (restic check --read-data)`,
        );
      }
    } else if (policy === 'lenient' && checks.length > 0 && failedChecks.length === 0) {
      warnings.push(
        `${summary}. The dataset's checks pass: the source was probably written to between the fingerprint and the dump`,
      );
    } else {
      problems.push(
        policy === 'strict'
          ? summary
          : `${summary}; ${checks.length === 0 ? `add verify.checks to dataset '${plan.dataset}' to prove a copy of a busy source` : 'and a check failed'}`,
      );
    }
  }
  return {
    ok: problems.length === 0,
    warnings,
    ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
  };
}
