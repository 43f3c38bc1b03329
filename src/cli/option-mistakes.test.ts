/**
 * Mistakes on the command line are found before any work: every numeric and enumerated
 * option of every command, given a bad value, exits 2 with a sentence naming the option and
 * no stack trace. The plan's servers are on a port where nothing listens, so a command that
 * connected before checking its options would fail otherwise (exit 3). Unknown commands and
 * options name the closest one; groups print their commands; every option is in --help.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliRun } from './testing/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-option-mistakes-'));
const plan = join(dir, 'lifeboat.yaml');
const nowhere = 'postgres://lifeboat@127.0.0.1:1/app';

before(() => {
  writeFileSync(
    plan,
    `version: 1
organization: Option Mistakes
document: { next_review: 2099-01-01 }
datasets:
  app: { rpo: 1h, source: { type: postgres, url: "${nowhere}" }, backup: { every: 15m }, verify: {} }
  db:
    rpo: 1h
    source: { type: postgres, url: "${nowhere}", data_dir: ${join(dir, 'no-data-dir')} }
    backup: { every: 15m, method: physical }
    verify: {}
`,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

const lifeboat = (args: string[]) => runCli([...args, '--plan', plan], { cwd: dir, timeoutMs: 20_000 });

function assertUsageMistake(run: CliRun, option: string, what: string): void {
  assert.equal(run.code, 2, `${what}: exit ${run.code}\n${run.stderr}`);
  assert.ok(run.stderr.includes(option), `${what}: stderr does not name ${option}:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /^\s+at |internal error/m, `${what}: a stack trace\n${run.stderr}`);
}

/** [command words and arguments, the option, its bad values, why it is not so yet] */
const numericOptions: [string[], string, string[], string?][] = [
  [['snapshots'], '--limit', ['abc', '0', '1.5', '1e3', '', '--limit=-3']],
  [['restore', 'app', '--to', 'x'], '--port', ['abc', '0', '70000', '54.32']],
  [['restore', 'db'], '--port', ['abc', '0', '65536', '--port=-1']],
  [['restore', 'app', '--to', 'x'], '--at', ['yesterday', '2024-02-30 10:00']],
  [['restore', 'db', '--dry-run'], '--at', ['yesterday', '2024-13-01T00:00:00Z']],
  [['restore', 'db', '--dry-run'], '--lsn', ['nope']],
  [['run', '--once'], '--tick', ['abc', '0', '-5s', '5 minutes']],
  [['run', '--once'], '--metrics', ['127.0.0.1:abc', 'nohost', '127.0.0.1:70000']],
  [['verify'], '--read-data-subset', ['lots', '200%', '1/']],
  [['plan', 'render'], '--format', ['pdf', 'htm']],
  [['status'], '--format', ['xml']],
  [['standby', 'create', 'app', '--to', join(dir, 'standby')], '--port', ['abc', '0']],
  [['drill', 'failover', '--sandbox'], '--runs', ['abc', '0', '101']],
  [['drill', 'failover', '--sandbox'], '--fault', ['nope']],
];

describe('a bad value of a numeric or enumerated option: exit 2, the option named, before any work', () => {
  for (const [command, option, values, todo] of numericOptions) {
    test(`${command.join(' ')} ${option}`, todo ? { todo } : {}, async () => {
      for (const value of values) {
        // `--opt=-3`: a value starting with a dash is written attached, as node's parser wants.
        const args = value.startsWith('--') ? [value] : [option, value];
        const run = await lifeboat([...command, ...args]);
        assertUsageMistake(run, option, `${command.join(' ')} ${args.join(' ')}`);
      }
    });
  }

  test('--json: the same mistake is a JSON document on stdout', async () => {
    const run = await lifeboat(['snapshots', '--limit', 'abc', '--json']);
    assertUsageMistake(run, '--limit', 'snapshots --limit abc --json');
    const body = JSON.parse(run.stdout) as { error: string; message: string };
    assert.equal(body.error, 'usage');
    assert.match(body.message, /--limit takes a whole number from 1 to \d+, not 'abc'/);
  });

  test('an enumerated value close to a known one is suggested', async () => {
    const run = await lifeboat(['plan', 'render', '--format', 'htm']);
    assert.match(run.stderr, /did you mean --format html\?/);
  });
});

describe('arguments a command does not take are refused, not ignored', () => {
  for (const command of [['prune'], ['run', '--once'], ['doctor'], ['catalog', 'rebuild'], ['demo']]) {
    test(command.join(' '), async () => {
      const run = await lifeboat([...command, 'extra']);
      assertUsageMistake(run, "'extra'", `${command.join(' ')} extra`);
      assert.match(run.stderr, /unexpected argument 'extra'/);
    });
  }
});

describe('unknown names: the closest one is suggested', () => {
  test('a mistyped option', async () => {
    const run = await lifeboat(['snapshots', '--limt', '3']);
    assertUsageMistake(run, '--limt', 'snapshots --limt');
    assert.match(run.stderr, /did you mean --limit\?/);
  });

  test('a mistyped command, and one in a group', async () => {
    const one = await runCli(['snapshot']);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /unknown command 'snapshot'[\s\S]*Did you mean 'lifeboat snapshots'\?/);
    const grouped = await runCli(['plan', 'chek']);
    assert.equal(grouped.code, 2);
    assert.match(grouped.stderr, /Did you mean 'lifeboat plan check'\?/);
    assert.match(grouped.stderr, /plan render/);
  });

  test('a group alone prints its commands (exit 2), with --help too (exit 0)', async () => {
    for (const group of ['plan', 'drill', 'standby', 'catalog', 'restore-point']) {
      const bare = await runCli([group]);
      assert.equal(bare.code, 2, `${group}: ${bare.stderr}`);
      assert.match(bare.stdout, new RegExp(`^Usage: lifeboat ${group} <`));
      const help = await runCli([group, '--help']);
      assert.equal(help.code, 0, `${group} --help: ${help.stderr}`);
      assert.equal(help.stdout, bare.stdout);
    }
  });
});

describe('--help explains every option of the command', () => {
  const commands = [
    ['backup'],
    ['snapshots'],
    ['restore'],
    ['verify'],
    ['prune'],
    ['run'],
    ['catalog', 'rebuild'],
    ['doctor'],
    ['demo'],
    ['restore-point', 'create'],
    ['drill', 'pitr'],
    ['plan', 'check'],
    ['plan', 'render'],
    ['plan', 'graph'],
    ['plan', 'schema'],
  ];
  for (const command of commands) {
    test(command.join(' '), async () => {
      const run = await runCli([...command, '--help']);
      assert.equal(run.code, 0, run.stderr);
      const [synopsis = '', ...rest] = run.stdout.split('\nOptions:\n');
      assert.ok(rest.length === 1, `${command.join(' ')} --help has no complete option list:\n${run.stdout}`);
      const explained = new Set([...rest[0]!.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
      for (const option of new Set(synopsis.match(/--[a-z][a-z-]*/g) ?? []))
        assert.ok(explained.has(option), `${command.join(' ')} --help does not explain ${option}`);
    });
  }

  test('restore: --force and --yes say what they allow and what the default is', async () => {
    const run = await runCli(['restore', '--help']);
    assert.match(run.stdout, /--force\s+allow replacing existing data[\s\S]*Default: refused \(exit 4\)/);
    assert.match(run.stdout, /--yes, -y\s+confirm without typing/);
  });
});
