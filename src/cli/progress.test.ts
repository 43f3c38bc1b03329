/** What a progress line says: rates over the recent pace, ETAs only when they mean something. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, formatSeconds } from './format.js';
import { progressLine, type ProgressSample } from './progress.js';

const at = (secondsElapsed: number, bytesDone: number, totalBytes = 0): ProgressSample => ({
  label: 'users',
  bytesDone,
  totalBytes,
  secondsElapsed,
});

describe('progress lines', () => {
  test('sizes and durations never show raw arithmetic', () => {
    assert.equal(formatBytes(555.5555555555555), '556 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(755 * 1024 * 1024), '755 MiB');
    assert.equal(formatSeconds(119.7), '1m 59s');
    assert.equal(formatSeconds(3.26), '3.2s');
    assert.equal(formatSeconds(93_784), '1d 2h');
    assert.equal(formatSeconds(Number.NaN), '-');
  });

  test('no rate and no ETA before a second of data has flowed', () => {
    assert.equal(progressLine(at(0.5, 1000, 10_000), [at(0, 0, 10_000)]), '  users: 1000 B of 9.7 KiB at -');
  });

  test('the rate is the recent pace, not the average since a slow start', () => {
    // 60 s of start-up with nothing, then 10 MiB/s for 3 s.
    const mib = 1024 * 1024;
    const samples = [at(0, 0), at(60, 0), at(61, 10 * mib), at(62, 20 * mib), at(63, 30 * mib)];
    const line = progressLine({ ...samples[4]!, totalBytes: 90 * mib }, samples);
    assert.equal(line, '  users: 30 MiB of 90 MiB at 10 MiB/s, ETA 6s');
  });

  test('past the estimated total: no ETA', () => {
    assert.doesNotMatch(progressLine(at(10, 2000, 1000), [at(5, 0, 1000)]), /ETA/);
  });
});
