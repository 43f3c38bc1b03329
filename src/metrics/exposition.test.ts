import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
  type MetricFamily,
} from './exposition.js';
import { promtoolCheck } from './testing/promtool.js';

describe('renderExposition', () => {
  test('HELP and TYPE before the samples, labels in order, one line each', () => {
    const text = renderExposition([
      {
        name: 'lifeboat_x_seconds',
        help: 'A duration.',
        type: 'gauge',
        samples: [
          { labels: { dataset: 'a', status: 'ok' }, value: 1.5 },
          { labels: { dataset: 'b', status: 'ok' }, value: 0 },
        ],
      },
      { name: 'lifeboat_y_total', help: 'A count.', type: 'counter', samples: [{ value: 3 }] },
    ]);
    assert.equal(
      text,
      [
        '# HELP lifeboat_x_seconds A duration.',
        '# TYPE lifeboat_x_seconds gauge',
        'lifeboat_x_seconds{dataset="a",status="ok"} 1.5',
        'lifeboat_x_seconds{dataset="b",status="ok"} 0',
        '# HELP lifeboat_y_total A count.',
        '# TYPE lifeboat_y_total counter',
        'lifeboat_y_total 3',
        '',
      ].join('\n'),
    );
    assert.equal(promtoolCheck(text), '');
  });

  test('label values escape backslash, double quote and newline; Prometheus reads them back', () => {
    const value = 'C:\\dir "quoted"\nnext';
    assert.equal(escapeLabelValue(value), 'C:\\\\dir \\"quoted\\"\\nnext');
    const text = renderExposition([
      { name: 'lifeboat_x', help: 'x', type: 'gauge', samples: [{ labels: { dataset: value }, value: 1 }] },
    ]);
    assert.equal(text.split('\n').length, 4, 'the newline stays inside the sample line');
    assert.equal(promtoolCheck(text), '');
  });

  test('HELP escapes backslash and newline, not quotes', () => {
    assert.equal(escapeHelp('a\\b "c"\nd'), 'a\\\\b "c"\\nd');
  });

  test('values: NaN and infinities as Prometheus spells them, exponents it parses', () => {
    assert.deepEqual([NaN, Infinity, -Infinity, -0, 0.25, 1e21, 5e-7, 1796294171.482].map(formatValue), [
      'NaN',
      '+Inf',
      '-Inf',
      '0',
      '0.25',
      '1e+21',
      '5e-7',
      '1796294171.482',
    ]);
    const text = renderExposition([
      {
        name: 'lifeboat_x',
        help: 'x',
        type: 'gauge',
        samples: [NaN, Infinity, -Infinity, 1e21, 5e-7].map((value, i) => ({
          labels: { i: String(i) },
          value,
        })),
      },
    ]);
    assert.equal(promtoolCheck(text), '');
  });

  test('a family with no sample is left out: unknown is absent, not a placeholder', () => {
    assert.equal(renderExposition([{ name: 'lifeboat_x', help: 'x', type: 'gauge', samples: [] }]), '');
  });

  test('what Prometheus would reject is a bug and throws', () => {
    const family = (f: Partial<MetricFamily>): MetricFamily[] => [
      { name: 'lifeboat_x', help: 'x', type: 'gauge', samples: [{ value: 1 }], ...f },
    ];
    assert.throws(() => renderExposition(family({ name: 'lifeboat-x' })), /invalid metric name/);
    assert.throws(() => renderExposition(family({ type: 'counter' })), /must end in _total/);
    assert.throws(
      () => renderExposition(family({ name: 'lifeboat_x_total', type: 'counter', samples: [{ value: -1 }] })),
      /cannot be -1/,
    );
    assert.throws(
      () => renderExposition(family({ samples: [{ labels: { 'data-set': 'a' }, value: 1 }] })),
      /invalid label name/,
    );
    assert.throws(
      () => renderExposition(family({ samples: [{ labels: { __name__: 'a' }, value: 1 }] })),
      /invalid label name/,
    );
    assert.throws(
      () => renderExposition(family({ samples: [{ value: 1 }, { value: 2 }] })),
      /lifeboat_x is given twice/,
    );
    assert.throws(() => renderExposition([...family({}), ...family({})]), /family lifeboat_x is given twice/);
  });
});
