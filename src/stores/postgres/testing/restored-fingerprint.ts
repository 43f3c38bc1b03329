/**
 * A restore recreating a database's own properties (owner, ACL, `ALTER DATABASE ... SET`,
 * comment) is built beside the fingerprint that measures them. Where a restore does not
 * recreate them yet, its copy differs from the source in those alone; these helpers assert
 * full equality once it does, and that nothing else differs until then.
 */
import assert from 'node:assert/strict';
import { categoryOf, diffFingerprints, type Fingerprint } from '../../fingerprint.js';

/** Whether the restored databases kept their owners: the sign that the restore recreates their properties. */
export function propertiesRestored(expected: Fingerprint, actual: Fingerprint): boolean {
  return Object.entries(expected.items)
    .filter(([key]) => categoryOf(key)?.category === 'database properties')
    .every(([key, value]) => actual.items[key]?.owner === value.owner);
}

/** `actual` (a restored copy) measures as `expected` (its source), database properties aside until a restore recreates them. */
export function assertRestoredFingerprint(
  expected: Fingerprint,
  actual: Fingerprint,
  message?: string,
): void {
  const differences = diffFingerprints(expected, actual);
  if (propertiesRestored(expected, actual)) {
    assert.deepEqual(
      differences.map((d) => d.text),
      [],
      message,
    );
    return;
  }
  assert.deepEqual(
    differences.filter((d) => categoryOf(d.key)?.category !== 'database properties').map((d) => d.text),
    [],
    message,
  );
}
