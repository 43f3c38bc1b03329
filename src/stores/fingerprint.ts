/**
 * A fingerprint is what a restore must reproduce, as plain JSON: per measured object (a
 * table, a Redis database, a file tree) a few exact values (row count, checksum). The same
 * measurement on the source and on a restored copy compares item by item.
 */

export type MeasureValue = string | number;

export interface Fingerprint {
  /** The source type that measured it (`postgres`, `mysql`, `redis`, `files`, `command`). */
  type: string;
  /** ISO time of the measurement. Not compared. */
  takenAt: string;
  /**
   * How the values were measured, where a source has had more than one way (PostgreSQL:
   * absent for the md5 checksums of the first backups, then `hashtextextended`, now
   * `column-hashes`: see postgres-fingerprint.ts). A restored
   * copy is measured the same way as the fingerprint it is compared with.
   */
  method?: string;
  /**
   * Measurements that must match exactly, keyed by object, e.g.
   * `appdb/table/public.users` → `{ rows: 1000, checksum: '…' }`.
   */
  items: Record<string, Record<string, MeasureValue>>;
  /** Recorded for people, not compared (e.g. Redis keys with a TTL, which may expire between two measurements). */
  info?: Record<string, Record<string, MeasureValue>>;
}

export interface FingerprintComparison {
  equal: boolean;
  /** One line per difference, each starting with the object's key. */
  differences: string[];
}

/** Compares the source's fingerprint (`expected`) with a restored copy's (`actual`). */
export function compareFingerprints(expected: Fingerprint, actual: Fingerprint): FingerprintComparison {
  const differences: string[] = [];
  if (expected.type !== actual.type) {
    differences.push(`type: expected ${expected.type}, got ${actual.type}`);
    return { equal: false, differences };
  }
  if (expected.method !== actual.method) {
    differences.push(
      `method: expected ${expected.method ?? '(the original)'}, got ${actual.method ?? '(the original)'}`,
    );
    return { equal: false, differences };
  }
  const keys = [...new Set([...Object.keys(expected.items), ...Object.keys(actual.items)])].sort();
  for (const key of keys) {
    const want = expected.items[key];
    const got = actual.items[key];
    if (want === undefined) {
      differences.push(`${key}: not in the source, present in the restored copy`);
      continue;
    }
    if (got === undefined) {
      differences.push(`${key}: missing from the restored copy`);
      continue;
    }
    for (const field of [...new Set([...Object.keys(want), ...Object.keys(got)])].sort()) {
      if (want[field] !== got[field]) {
        differences.push(`${key}: ${field} expected ${show(want[field])}, got ${show(got[field])}`);
      }
    }
  }
  return { equal: differences.length === 0, differences };
}

function show(value: MeasureValue | undefined): string {
  return value === undefined ? '(none)' : typeof value === 'number' ? String(value) : JSON.stringify(value);
}

export function newFingerprint(type: string): Fingerprint {
  return { type, takenAt: new Date().toISOString(), items: {} };
}
