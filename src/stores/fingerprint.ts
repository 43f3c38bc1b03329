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
   * What the measurement covers, in words (`rows`, `definitions`, `grants`...): what a restore
   * compared with it has proven. Absent where a source records no list (see `categoriesOf`).
   */
  categories?: string[];
  /**
   * Measured in the very state the backup stored (PostgreSQL: pg_dump's own exported
   * snapshot), so a restored copy that differs is not what was backed up, whatever the
   * policy: no write to the source can explain it. Absent on older backups and on sources
   * measured live.
   */
  consistent?: boolean;
  /**
   * Categories of a consistent fingerprint that writes still advance between the dump's read
   * and the fingerprint's (PostgreSQL's sequences, which no snapshot holds): a restored value
   * ahead of the recorded one is a warning, not a failure, under the lenient policy.
   */
  advancing?: string[];
  /**
   * Measurements that must match exactly, keyed by object, e.g.
   * `appdb/table/public.users` → `{ rows: 1000, checksum: '…' }`. Database servers key them
   * `DB/CATEGORY/OBJECT` (see `categoryOf`).
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

/** One difference between a recorded fingerprint and a restored copy's. */
export interface FingerprintDifference {
  /** The item's key; empty for a difference in how the two were measured. */
  key: string;
  field?: string;
  expected?: MeasureValue;
  actual?: MeasureValue;
  /** The line `compareFingerprints` reports. */
  text: string;
}

/** Compares the source's fingerprint (`expected`) with a restored copy's (`actual`). */
export function compareFingerprints(expected: Fingerprint, actual: Fingerprint): FingerprintComparison {
  const differences = diffFingerprints(expected, actual).map((d) => d.text);
  return { equal: differences.length === 0, differences };
}

/** `compareFingerprints`, difference by difference. */
export function diffFingerprints(expected: Fingerprint, actual: Fingerprint): FingerprintDifference[] {
  if (expected.type !== actual.type) {
    return [{ key: '', text: `type: expected ${expected.type}, got ${actual.type}` }];
  }
  if (expected.method !== actual.method) {
    return [
      {
        key: '',
        text: `method: expected ${expected.method ?? '(the original)'}, got ${actual.method ?? '(the original)'}`,
      },
    ];
  }
  const differences: FingerprintDifference[] = [];
  const keys = [...new Set([...Object.keys(expected.items), ...Object.keys(actual.items)])].sort();
  for (const key of keys) {
    const want = expected.items[key];
    const got = actual.items[key];
    if (want === undefined) {
      differences.push({ key, text: `${key}: not in the source, present in the restored copy` });
      continue;
    }
    if (got === undefined) {
      differences.push({ key, text: `${key}: missing from the restored copy` });
      continue;
    }
    for (const field of [...new Set([...Object.keys(want), ...Object.keys(got)])].sort()) {
      const [e, a] = [want[field], got[field]];
      if (e !== a) {
        differences.push({
          key,
          field,
          ...(e !== undefined ? { expected: e } : {}),
          ...(a !== undefined ? { actual: a } : {}),
          text: `${key}: ${field} expected ${show(e)}, got ${show(a)}`,
        });
      }
    }
  }
  return differences;
}

/** The category an item key of a database server (`DB/CATEGORY/OBJECT`) belongs to, by its middle part. */
const categoryBySegment: Record<string, string> = {
  table: 'rows',
  sequence: 'sequences',
  definition: 'definitions',
  grant: 'grants',
  'large-objects': 'large objects',
  database: 'database properties',
};

/**
 * Where an item belongs, in words: its category and the database it is in (`database
 * properties` of `appdb`). Items of other shapes (a Redis database, a file) have neither.
 */
export function categoryOf(key: string): { category: string; database: string } | undefined {
  // A database's name may hold a slash; its objects' names follow the category.
  const m =
    /^(.+?)\/(table|sequence|definition|grant)\//.exec(key) ?? /^(.+)\/(large-objects|database)$/.exec(key);
  const category = m ? categoryBySegment[m[2] ?? ''] : undefined;
  return m && category !== undefined ? { category, database: m[1] ?? '' } : undefined;
}

/** What a fingerprint covers: the categories it lists, else those of its items. */
export function categoriesOf(fingerprint: Fingerprint): string[] {
  if (fingerprint.categories) return fingerprint.categories;
  const found = new Set<string>();
  for (const key of Object.keys(fingerprint.items)) {
    const where = categoryOf(key);
    if (where) found.add(where.category);
  }
  return [...found];
}

function show(value: MeasureValue | undefined): string {
  return value === undefined ? '(none)' : typeof value === 'number' ? String(value) : JSON.stringify(value);
}

export function newFingerprint(type: string): Fingerprint {
  return { type, takenAt: new Date().toISOString(), items: {} };
}
