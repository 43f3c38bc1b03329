// Runs the built CLI (bin/lifeboat.js imports dist/): `npm test` builds first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'lifeboat.js');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-render-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Without LIFEBOAT_PLAN from the caller's shell, so that `./lifeboat.yaml` is the default.
const { LIFEBOAT_PLAN: _ignored, ...env } = process.env;

function lifeboat(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function planFile(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

const PLAN = `version: 1
organization: Acme
document: { version: "3.0", owner: Platform team }
services:
  api: { name: API, rto: 1h, priority: critical, depends_on: [db] }
  db: { name: Database, rto: 30m, priority: critical }
scenarios:
  db-loss: { name: Database lost, impact: Everything is down, decision: approval, runbooks: [restore] }
runbooks:
  restore: { name: Restore the database, steps: [ { name: Restore, run: "restic restore latest" } ] }
templates:
  start: { subject: Incident started, body: "We are on it <b>now</b>." }
`;

describe('lifeboat plan render', () => {
  const file = planFile('lifeboat.yaml', PLAN);

  test('prints the Markdown document on stdout', () => {
    const { code, stdout, stderr } = lifeboat('plan', 'render', '--plan', file);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^# Acme Disaster Recovery Plan\n/);
    assert.match(
      stdout,
      /Generated from lifeboat\.yaml, plan content hash sha256:[0-9a-f]{12}, document version 3\.0/,
    );
    assert.ok(stdout.includes('| API | 1 hour | Critical | Database |'));
    assert.ok(stdout.includes('```bash\n   restic restore latest\n   ```'));
    assert.ok(stdout.includes('Subject: Incident started\n\nWe are on it <b>now</b>.'));
  });

  test('finds ./lifeboat.yaml without --plan', () => {
    const { code, stdout } = lifeboat('plan', 'render');
    assert.equal(code, 0);
    assert.ok(stdout.startsWith('# Acme Disaster Recovery Plan'));
  });

  test('writes HTML to -o, and --json reports file, format, bytes and content hash', () => {
    const out = join(dir, 'dr.html');
    const { code, stdout, stderr } = lifeboat(
      'plan',
      'render',
      '--plan',
      file,
      '--format',
      'html',
      '-o',
      out,
      '--json',
    );
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    const html = readFileSync(out, 'utf8');
    assert.equal(report.file, out);
    assert.equal(report.format, 'html');
    assert.equal(report.bytes, Buffer.byteLength(html));
    assert.match(report.contentHash, /^[0-9a-f]{64}$/);
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.ok(html.includes('We are on it &lt;b&gt;now&lt;/b&gt;.'));
    assert.ok(html.includes(`sha256:${report.contentHash.slice(0, 12)}`));
  });

  test('infers HTML from the -o extension and says what it wrote', () => {
    const out = join(dir, 'plan.htm');
    const { code, stdout } = lifeboat('plan', 'render', '--plan', file, '-o', out);
    assert.equal(code, 0);
    assert.match(stdout, /^wrote .*plan\.htm \(html, \d+ bytes, plan sha256:[0-9a-f]{12}\)\n$/);
    assert.ok(readFileSync(out, 'utf8').startsWith('<!DOCTYPE html>'));
  });

  test('a plan the schema rejects: findings as file:line:column on stderr, exit 1, nothing on stdout', () => {
    const bad = planFile('bad.yaml', 'version: 1\norganization: Acme\nservices:\n  api: { rtoo: 1h }\n');
    const { code, stdout, stderr } = lifeboat('plan', 'render', '--plan', bad);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /bad\.yaml:4:10: services\.api\.rtoo: unknown key 'rtoo'/);
    assert.match(stderr, /lifeboat plan check/);
  });

  test('a plan with rule errors: refused (exit 1), or with --force rendered with the errors at its head', () => {
    const broken = planFile('broken.yaml', PLAN.replace('depends_on: [db]', 'depends_on: [dbb]'));
    const refused = lifeboat('plan', 'render', '--plan', broken);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /broken\.yaml:\d+:\d+: .*'dbb' is not declared/);
    assert.match(refused.stderr, /--force/);
    const forced = lifeboat('plan', 'render', '--plan', broken, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    const head = forced.stdout.slice(0, forced.stdout.indexOf('## '));
    assert.match(head, /This plan has 1 error/);
    assert.match(head, /line \d+: .*'dbb' is not declared/);
    const html = lifeboat('plan', 'render', '--plan', broken, '--force', '--format', 'html');
    assert.match(html.stdout, /This plan has 1 error/);
  });

  test('usage mistakes exit 2', () => {
    assert.equal(lifeboat('plan', 'render', '--plan', file, '--format', 'pdf').code, 2);
    assert.equal(lifeboat('plan', 'render', '--plan', join(dir, 'missing.yaml')).code, 2);
    assert.equal(
      lifeboat('plan', 'render', '--plan', file, '-o', join(dir, 'no', 'such', 'dir', 'x.md')).code,
      2,
    );
  });
});

describe('lifeboat plan schema', () => {
  test('prints the JSON Schema', () => {
    const { code, stdout } = lifeboat('plan', 'schema');
    assert.equal(code, 0);
    const schema = JSON.parse(stdout);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(schema.required, ['version', 'organization']);
  });
});
