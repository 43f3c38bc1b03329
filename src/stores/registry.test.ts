import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Source } from '../plan/schema.js';
import { findStore, isProtectable, protectableKinds, storeFor, storeKinds } from './index.js';

describe('the store registry', () => {
  test('has a driver or an entry for exactly the source kinds the plan schema declares', () => {
    const declared = Source.options.map((option) => option.shape.type.value);
    assert.deepEqual([...storeKinds].sort(), [...declared].sort());
  });

  test('every protectable kind has a driver of its own name; external has none', () => {
    for (const kind of protectableKinds) assert.equal(storeFor(kind).kind, kind);
    assert.equal(isProtectable('external'), false);
    assert.equal(findStore('external'), undefined);
    assert.throws(
      () => storeFor({ type: 'external' }, 'cdn'),
      /dataset cdn: source type "external" cannot be backed up/,
    );
  });
});
