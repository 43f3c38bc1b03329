import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dependencyEdges, findCycles, recoveryChains, recoveryWaves } from './graph.js';
import { parsePlan } from './load.js';
import type { Plan } from './schema.js';

function plan(services: string, extra = ''): Plan {
  const loaded = parsePlan(`version: 1\norganization: Acme\n${extra}services:\n${services}`, 'graph.yaml');
  assert.ok(loaded.plan, `the schema rejected the fixture: ${JSON.stringify(loaded.findings)}`);
  return loaded.plan;
}

describe('recoveryWaves', () => {
  test('dependencies come first; within a wave, by priority then id', () => {
    const p = plan(`
  web: { rto: 4h, priority: critical, depends_on: [api] }
  api: { rto: 2h, priority: critical, depends_on: [db, cache] }
  cache: { rto: 1h, priority: high }
  db: { rto: 1h, priority: critical }
  reports: { rto: 1d, priority: low }
`);
    assert.deepEqual(recoveryWaves(p), {
      waves: [['db', 'cache', 'reports'], ['api'], ['web']],
      blocked: [],
    });
  });

  test('soft dependencies do not order recovery', () => {
    const p = plan(`
  web: { rto: 1h, depends_on: [{ on: ai, soft: true }] }
  ai: { rto: 1h, depends_on: [web] }
`);
    assert.deepEqual(recoveryWaves(p), { waves: [['web'], ['ai']], blocked: [] });
    assert.deepEqual(findCycles(p), [], 'a circle closed by a soft edge is not a cycle');
  });

  test('a dependency on a service the plan does not declare is ignored for the order', () => {
    const p = plan(`  web: { rto: 1h, depends_on: [ghost] }\n`);
    assert.deepEqual(recoveryWaves(p).waves, [['web']]);
    assert.deepEqual(dependencyEdges(p), [{ from: 'web', to: 'ghost', soft: false }]);
  });
});

describe('findCycles', () => {
  test('reports each cycle once, as a closed path, and blocks the services on and behind it', () => {
    const p = plan(`
  a: { rto: 1h, depends_on: [b] }
  b: { rto: 1h, depends_on: [c] }
  c: { rto: 1h, depends_on: [a] }
  front: { rto: 1h, depends_on: [a] }
  free: { rto: 1h }
`);
    const cycles = findCycles(p);
    assert.equal(cycles.length, 1);
    const cycle = cycles[0]!;
    assert.equal(cycle[0], cycle[cycle.length - 1]);
    assert.deepEqual(new Set(cycle), new Set(['a', 'b', 'c']));
    assert.equal(cycle.join(' → '), 'a → b → c → a');
    assert.deepEqual(recoveryWaves(p), { waves: [['free']], blocked: ['a', 'b', 'c', 'front'] });
  });

  test('a service that depends on itself is a cycle', () => {
    assert.deepEqual(findCycles(plan(`  a: { depends_on: [a] }\n`)), [['a', 'a']]);
  });
});

describe('recoveryChains', () => {
  test('the chain with the largest sum of RTOs bounds each service', () => {
    const p = plan(`
  web: { rto: 4h, depends_on: [api, { on: ai, soft: true }] }
  api: { rto: 2h, depends_on: [db, cache] }
  db: { rto: 1h }
  cache: { rto: 3h }
  ai: { rto: 1d }
`);
    const byService = new Map(recoveryChains(p).map((c) => [c.service, c]));
    assert.deepEqual(byService.get('web'), {
      service: 'web',
      chain: ['web', 'api', 'cache'],
      totalRtoSeconds: 9 * 3600,
      rtoSeconds: 4 * 3600,
      unknownRto: [],
    });
    assert.deepEqual(byService.get('api')?.chain, ['api', 'cache']);
    assert.equal(byService.get('api')?.totalRtoSeconds, 5 * 3600);
    assert.deepEqual(byService.get('db')?.chain, ['db']);
    assert.equal(byService.get('db')?.totalRtoSeconds, 3600);
  });

  test('services without an RTO count as zero and are listed; the plan-wide RTO is inherited', () => {
    const p = plan(
      `
  web: { depends_on: [db] }
  db: { rto: 30m, depends_on: [disk] }
  disk: {}
`,
      'objectives: {}\n',
    );
    const web = recoveryChains(p).find((c) => c.service === 'web')!;
    assert.deepEqual(web.chain, ['web', 'db', 'disk']);
    assert.equal(web.totalRtoSeconds, 1800);
    assert.equal(web.rtoSeconds, undefined);
    assert.deepEqual(web.unknownRto, ['web', 'disk']);

    const inherited = plan(`  web: { depends_on: [db] }\n  db: { rto: 30m }\n`, 'objectives: { rto: 1h }\n');
    const chain = recoveryChains(inherited).find((c) => c.service === 'web')!;
    assert.equal(chain.totalRtoSeconds, 5400);
    assert.equal(chain.rtoSeconds, 3600);
  });

  test('a service on a cycle gets only itself', () => {
    const p = plan(`  a: { rto: 1h, depends_on: [b] }\n  b: { rto: 2h, depends_on: [a] }\n`);
    assert.deepEqual(
      recoveryChains(p).map((c) => [c.service, c.chain, c.totalRtoSeconds]),
      [
        ['a', ['a'], 3600],
        ['b', ['b'], 7200],
      ],
    );
  });
});
