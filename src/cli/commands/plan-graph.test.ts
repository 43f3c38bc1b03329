// Runs the built CLI (bin/lifeboat.js imports dist/): `npm test` builds first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'lifeboat.js');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-graph-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function graph(yaml: string, ...args: string[]) {
  const file = join(dir, `plan-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `version: 1\norganization: Acme\n${yaml}`);
  const result = spawnSync(process.execPath, [BIN, 'plan', 'graph', '--plan', file, ...args], {
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const SERVICES = `services:
  web: { rto: 4h, priority: critical, depends_on: [api, { on: ai, soft: true }] }
  api: { rto: 2h, priority: critical, depends_on: [db, cache] }
  db: { rto: 1h, priority: critical }
  cache: { rto: 3h, priority: high }
  ai: { external: true }
`;

describe('lifeboat plan graph', () => {
  test('--json: waves, blocked, chains with sums and verdicts, cycles, edges', () => {
    const { code, stdout, stderr } = graph(SERVICES, '--json');
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.deepEqual(result.waves, [['db', 'cache', 'ai'], ['api'], ['web']]);
    assert.deepEqual(result.blocked, []);
    assert.deepEqual(result.cycles, []);
    assert.deepEqual(result.edges[1], { from: 'web', to: 'ai', soft: true });
    const web = result.chains.find((c: { service: string }) => c.service === 'web');
    assert.deepEqual(web, {
      service: 'web',
      chain: ['web', 'api', 'cache'],
      totalRtoSeconds: 32_400,
      rtoSeconds: 14_400,
      exceedsRto: true,
      unknownRto: [],
    });
    const ai = result.chains.find((c: { service: string }) => c.service === 'ai');
    assert.deepEqual(ai, {
      service: 'ai',
      chain: ['ai'],
      totalRtoSeconds: 0,
      rtoSeconds: null,
      exceedsRto: false,
      unknownRto: ['ai'],
    });
  });

  test('prints the waves and each chain with human durations, marking those over their RTO', () => {
    const { code, stdout } = graph(SERVICES);
    assert.equal(code, 0);
    assert.ok(stdout.includes('  wave 1: db, cache, ai\n  wave 2: api\n  wave 3: web\n'));
    assert.match(stdout, /web +web → api → cache = 9h +EXCEEDS its RTO 4h by 5h/);
    assert.match(stdout, /db +db = 1h +within its RTO 1h/);
    assert.match(stdout, /2 services cannot be back within their RTO/);
  });

  test('prints the cycle and the services it blocks', () => {
    const { code, stdout } = graph(`services:
  a: { rto: 1h, depends_on: [b] }
  b: { rto: 1h, depends_on: [a] }
  c: { rto: 1h, depends_on: [a] }
  d: { rto: 1h }
`);
    assert.equal(code, 0);
    assert.ok(stdout.includes('  wave 1: d\n'));
    assert.ok(stdout.includes('Blocked by a dependency cycle (no recovery order): a, b, c'));
    assert.ok(stdout.includes('  cycle: a → b → a'));
  });

  test('a plan the schema rejects exits 1', () => {
    const { code, stderr } = graph('services: { a: { rto: 4 hours } }\n');
    assert.equal(code, 1);
    assert.match(stderr, /services\.a\.rto/);
  });
});
