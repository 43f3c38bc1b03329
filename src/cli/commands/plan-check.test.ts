/**
 * `lifeboat plan check` as a user meets it: the built CLI in a child process, fed malformed
 * plans. Each must get a specific finding (rule, line, column), the right exit code, no stack
 * trace and no hang.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BIN, runCli } from '../testing/run-cli.js';

const VALID_HEAD = 'version: 1\norganization: Acme\ndocument: { next_review: 2099-01-01 }\n';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-check-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function planFile(text: string | Buffer): string {
  const file = join(dir, `plan-${++counter}.yaml`);
  writeFileSync(file, text);
  return file;
}

interface Case {
  name: string;
  text: string | (() => string | Buffer);
  exit: number;
  rule: string;
  line?: number;
  column?: number;
  message?: RegExp;
  hint?: RegExp;
}

const cases: Case[] = [
  { name: 'empty file', text: '', exit: 1, rule: 'empty-plan', line: 1 },
  { name: 'only comments', text: '# nothing here\n\n', exit: 1, rule: 'empty-plan', line: 1 },
  {
    name: 'unclosed flow sequence',
    text: 'version: 1\nservices: [a, b\n',
    exit: 1,
    rule: 'yaml-syntax',
    line: 3,
  },
  {
    name: 'bad indentation',
    text: 'version: 1\nservices:\n  api:\n    rto: 1h\n   name: x\n',
    exit: 1,
    rule: 'yaml-syntax',
    line: 5,
  },
  {
    name: 'tab indentation',
    text: 'version: 1\nservices:\n\tapi: {}\n',
    exit: 1,
    rule: 'yaml-syntax',
    line: 3,
  },
  {
    name: 'duplicate key',
    text: 'version: 1\norganization: A\norganization: B\n',
    exit: 1,
    rule: 'duplicate-key',
    line: 3,
    column: 1,
  },
  {
    name: 'a list at the root',
    text: '- version: 1\n',
    exit: 1,
    rule: 'invalid-type',
    line: 1,
    message: /must be a mapping/,
  },
  { name: 'a scalar at the root', text: 'just some words\n', exit: 1, rule: 'invalid-type', line: 1 },
  {
    name: 'missing version',
    text: 'organization: Acme\n',
    exit: 1,
    rule: 'missing-field',
    message: /^version: required field is missing/,
  },
  {
    name: 'wrong version',
    text: 'version: 2\norganization: A\n',
    exit: 1,
    rule: 'invalid-value',
    line: 1,
    column: 10,
  },
  {
    name: 'organization is a number',
    text: 'version: 1\norganization: 42\n',
    exit: 1,
    rule: 'invalid-type',
    line: 2,
    column: 15,
  },
  {
    name: 'misspelt top-level key',
    text: VALID_HEAD + 'servics:\n  api: {}\n',
    exit: 1,
    rule: 'unknown-key',
    line: 4,
    column: 1,
    hint: /did you mean 'services'/,
  },
  {
    name: 'misspelt nested key',
    text: VALID_HEAD + 'services:\n  api:\n    prioritty: high\n',
    exit: 1,
    rule: 'unknown-key',
    line: 6,
    column: 5,
    hint: /did you mean 'priority'/,
  },
  {
    name: 'unknown key with no near match lists the known ones',
    text: VALID_HEAD + 'services:\n  api:\n    colour: blue\n',
    exit: 1,
    rule: 'unknown-key',
    line: 6,
    hint: /known keys here: .*rto/,
  },
  {
    name: 'depends_on is a string, not a list',
    text: VALID_HEAD + 'services:\n  api: { depends_on: db }\n',
    exit: 1,
    rule: 'invalid-type',
    line: 5,
    column: 22,
  },
  {
    name: 'duration written in words',
    text: VALID_HEAD + 'services:\n  api: { rto: 4 hours }\n',
    exit: 1,
    rule: 'invalid-format',
    line: 5,
    column: 15,
    hint: /unit letter/,
  },
  {
    name: 'duration without a unit',
    text: VALID_HEAD + 'datasets:\n  db: { rpo: 15 }\n',
    exit: 1,
    rule: 'invalid-type',
    line: 5,
    hint: /'15s' or '15m'/,
  },
  {
    name: 'inverted range',
    text: VALID_HEAD + 'scenarios:\n  s: { estimated_recovery: 4h..2h }\n',
    exit: 1,
    rule: 'duration-range',
    line: 5,
  },
  {
    name: 'priority outside the enum',
    text: VALID_HEAD + 'services:\n  api: { priority: urgent }\n',
    exit: 1,
    rule: 'invalid-value',
    line: 5,
    message: /critical, high, medium, low/,
  },
  {
    name: 'misspelt source type',
    text: VALID_HEAD + 'datasets:\n  db:\n    source: { type: postgress, url: env:DB }\n',
    exit: 1,
    rule: 'invalid-value',
    line: 6,
    hint: /did you mean 'postgres'/,
  },
  {
    name: 'source without a type',
    text: VALID_HEAD + 'datasets:\n  db:\n    source: { url: env:DB }\n',
    exit: 1,
    rule: 'missing-field',
    message: /datasets\.db\.source\.type/,
  },
  {
    name: 'decision misspelt in a one-or-many field',
    text: VALID_HEAD + 'scenarios:\n  s: { decision: autmatic }\n',
    exit: 1,
    rule: 'invalid-value',
    line: 5,
    hint: /automatic/,
  },
  {
    name: 'id with a space',
    text: VALID_HEAD + 'services:\n  "api gateway": {}\n',
    exit: 1,
    rule: 'invalid-value',
    message: /an id is letters/,
  },
  {
    name: 'dangling dependency',
    text: VALID_HEAD + 'services:\n  api: { depends_on: [databse] }\n  database: {}\n',
    exit: 1,
    rule: 'unknown-reference',
    line: 5,
    hint: /did you mean 'database'/,
  },
  {
    name: 'dangling runbook',
    text:
      VALID_HEAD +
      'scenarios:\n  s: { runbooks: [restore-db] }\nrunbooks:\n  restore: { steps: [ { manual: x } ] }\n',
    exit: 1,
    rule: 'unknown-reference',
    line: 5,
    hint: /restore/,
  },
  {
    name: 'dependency cycle',
    text: VALID_HEAD + 'services:\n  a: { depends_on: [b] }\n  b: { depends_on: [a] }\n',
    exit: 1,
    rule: 'dependency-cycle',
    message: /a → b → a/,
  },
  {
    name: 'inline repository password',
    text: VALID_HEAD + 'repositories:\n  r: { url: /srv/backup, password: hunter2 }\n',
    exit: 1,
    rule: 'inline-secret',
    line: 5,
    hint: /env:NAME/,
  },
  {
    name: 'password inside a URL',
    text:
      VALID_HEAD +
      'datasets:\n  db:\n    source: { type: postgres, url: "postgres://app:s3cret@db:5432/app" }\n',
    exit: 1,
    rule: 'inline-secret',
    line: 6,
  },
  {
    name: 'inline Slack webhook',
    text:
      VALID_HEAD +
      'channels:\n  slack: { type: slack, webhook: "https://hooks.slack.com/services/T000/B000/XXXX" }\n',
    exit: 1,
    rule: 'inline-secret',
    line: 5,
  },
  {
    name: 'step with two actions',
    text: VALID_HEAD + 'runbooks:\n  r:\n    steps:\n      - { run: a, manual: b }\n',
    exit: 1,
    rule: 'step-action',
    line: 7,
  },
  {
    name: 'template with an unknown variable',
    text: VALID_HEAD + 'templates:\n  t: { body: "Severity {{incident.sevrity}}" }\n',
    exit: 1,
    rule: 'template-variable',
    line: 5,
    hint: /incident\.severity/,
  },
  {
    name: 'availability without a percent sign',
    text: VALID_HEAD + 'objectives: { availability: "99.9" }\n',
    exit: 1,
    rule: 'invalid-format',
    line: 4,
  },
  {
    name: 'YAML alias bomb',
    text: () => {
      const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (let i = 1; i < 10; i++) {
        const prev = String.fromCharCode(96 + i);
        lines.push(
          `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`,
        );
      }
      return lines.join('\n') + '\n';
    },
    exit: 1,
    rule: 'yaml-aliases',
    message: /billion laughs/,
  },
  {
    name: 'a 10 MB file',
    text: () => VALID_HEAD + '# padding\n'.repeat(1_000_000),
    exit: 1,
    rule: 'file-too-large',
    line: 1,
  },
  {
    name: 'binary garbage',
    text: () => Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x5b, 0x3a, 0x0a, 0x2d, 0x20, 0x3a, 0x3a, 0x5d]),
    exit: 1,
    rule: 'encoding',
    line: 1,
    column: 2,
    message: /byte 0xFF at offset 1 is not valid UTF-8/,
  },
  {
    name: 'deeply nested flow collections',
    text: () => 'a: ' + '['.repeat(20_000) + ']'.repeat(20_000) + '\n',
    exit: 1,
    rule: 'yaml-syntax',
  },
  {
    name: 'a null section',
    text: VALID_HEAD + 'services:\n',
    exit: 1,
    rule: 'invalid-type',
    line: 4,
    message: /services: expected record, got null/,
  },
];

describe('plan check on malformed plans', () => {
  test('there are at least 30 cases', () => assert.ok(cases.length >= 30));

  for (const c of cases) {
    test(c.name, async () => {
      const file = planFile(typeof c.text === 'function' ? c.text() : c.text);
      const result = await runCli(['plan', 'check', '--plan', file, '--json']);
      assert.equal(result.code, c.exit, `exit code; stderr: ${result.stderr}`);
      assert.doesNotMatch(result.stderr + result.stdout, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
      assert.ok(result.ms < 10_000, `took ${result.ms} ms`);
      const report = JSON.parse(result.stdout) as { errors: Record<string, unknown>[]; warnings: unknown[] };
      const finding = report.errors.find((f) => f.rule === c.rule);
      assert.ok(finding, `expected a ${c.rule} error, got ${JSON.stringify(report.errors)}`);
      for (const key of ['rule', 'severity', 'message', 'path', 'line', 'column'])
        assert.ok(key in finding, `finding has ${key}`);
      if (c.line !== undefined) assert.equal(finding.line, c.line, `line of ${JSON.stringify(finding)}`);
      if (c.column !== undefined)
        assert.equal(finding.column, c.column, `column of ${JSON.stringify(finding)}`);
      if (c.message) assert.match(String(finding.message), c.message);
      if (c.hint) assert.match(String(finding.hint), c.hint);
    });
  }

  test('the text output names file:line:column, the rule and the hint', async () => {
    const file = planFile(VALID_HEAD + 'services:\n  api:\n    prioritty: high\n');
    const result = await runCli(['plan', 'check', '--plan', file]);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /plan-\d+\.yaml:6:5: error \[unknown-key\] services\.api\.prioritty: unknown key 'prioritty'/,
    );
    assert.match(result.stdout, /hint: did you mean 'priority'\?/);
    assert.match(result.stdout, /invalid, 1 error, 0 warnings/);
  });

  test('warnings alone exit 0', async () => {
    const file = planFile('version: 1\norganization: A\ndocument: { next_review: 2020-01-01 }\n');
    const result = await runCli(['plan', 'check', '--plan', file, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { errors: unknown[]; warnings: { rule: string }[] };
    assert.deepEqual(report.errors, []);
    assert.deepEqual(
      report.warnings.map((w) => w.rule),
      ['review-overdue'],
    );
  });

  test('a missing plan file is a usage error (exit 2) that says what to do', async () => {
    const result = await runCli(['plan', 'check', '--plan', join(dir, 'nope.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /plan file not found: .*nope\.yaml/);
    assert.match(result.stderr, /hint: pass --plan FILE/);
  });

  test('a directory as the plan is a usage error', async () => {
    const sub = join(dir, 'a-dir');
    mkdirSync(sub, { recursive: true });
    const result = await runCli(['plan', 'check', '--plan', sub]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is a directory/);
  });

  test('an unknown option is a usage error that names the closest one', async () => {
    const result = await runCli(['plan', 'check', '--jsn']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--jsn'/);
    assert.match(result.stderr, /did you mean --json\?/);
  });

  test('an unknown command lists the known ones', async () => {
    const result = await runCli(['plan', 'chek']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command 'plan chek'.*\n.*plan check/);
  });

  test('--json errors of a usage failure are JSON too', async () => {
    const result = await runCli(['plan', 'check', '--plan', join(dir, 'missing.yaml'), '--json']);
    assert.equal(result.code, 2);
    assert.equal((JSON.parse(result.stdout) as { error: string }).error, 'usage');
  });
});

describe('plan check start-up cost', () => {
  test('checking the largest example takes at most 8 times `node -e 0`', async () => {
    const { spawnSync } = await import('node:child_process');
    const plan = fileURLToPath(new URL('../../../examples/opportunex/lifeboat.yaml', import.meta.url));
    // CPU time, as each process reports it on exit: the suite runs beside this test, and its
    // load stretches wall times unevenly (a 0.5 s check more than a 0.06 s baseline), while
    // the work a start-up does stays the same.
    const report =
      "data:text/javascript,process.on('exit',()=>process.stderr.write('cpu '+JSON.stringify(process.cpuUsage())+'\\n'))";
    const cpu = (args: string[]) => {
      const result = spawnSync(process.execPath, ['--import', report, ...args], { encoding: 'utf8' });
      const line = /^cpu (.*)$/m.exec(result.stderr)?.[1];
      assert.ok(line, `no CPU report from ${args.join(' ')}: ${result.stderr}`);
      const usage = JSON.parse(line) as { user: number; system: number };
      return (usage.user + usage.system) / 1000;
    };
    const baselines: number[] = [];
    const checks: number[] = [];
    for (let i = 0; i < 5; i++) {
      baselines.push(cpu(['-e', '0']));
      checks.push(cpu([BIN, 'plan', 'check', '--plan', plan]));
    }
    const baseline = Math.min(...baselines);
    const check = Math.min(...checks);
    assert.ok(
      check <= 8 * baseline,
      `plan check used ${check.toFixed(0)} ms of CPU, node -e 0 ${baseline.toFixed(0)} ms`,
    );
  });
});
