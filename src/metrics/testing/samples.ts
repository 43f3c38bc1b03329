/** Reading an exposition back in tests: its samples, and whether they say what status says. */
import assert from 'node:assert/strict';
import type { StatusRow } from '../../protect/status.js';

/** `name{labels}` → value, for every sample of an exposition. */
export function exposedSamples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

/** The dataset's compliance, RPO and newest and verified recovery points, as `status --json` gave them. */
export function assertSamplesMatchStatus(values: Map<string, number>, row: StatusRow): void {
  const series = (name: string) => values.get(`${name}{dataset="${row.dataset}"}`);
  assert.equal(series('lifeboat_dataset_compliant'), row.compliant ? 1 : 0);
  assert.equal(series('lifeboat_dataset_rpo_seconds'), row.rpoSeconds);
  assert.equal(
    series('lifeboat_dataset_last_recovery_point_timestamp_seconds'),
    Date.parse(row.newest!.at) / 1000,
  );
  assert.equal(
    series('lifeboat_dataset_last_verified_timestamp_seconds'),
    Date.parse(row.verified!.at) / 1000,
  );
}
