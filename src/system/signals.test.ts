import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { interruptOnSignals } from './signals.js';

describe('interruptOnSignals', () => {
  test('the first SIGINT or SIGTERM aborts; each is reported; dispose stops listening', () => {
    const seen: [string, boolean][] = [];
    const before = process.listenerCount('SIGTERM');
    const interrupt = interruptOnSignals((signal, first) => seen.push([signal, first]));
    assert.equal(interrupt.signal.aborted, false);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(interrupt.signal.aborted, true);
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(seen, [
      ['SIGTERM', true],
      ['SIGINT', false],
    ]);
    interrupt.dispose();
    assert.equal(process.listenerCount('SIGTERM'), before);
  });
});
