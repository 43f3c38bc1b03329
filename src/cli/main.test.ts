import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from './testing/run-cli.js';

describe('the CLI entry', () => {
  test('an error is a JSON document on stdout with --json and with --format json alike', async () => {
    for (const flags of [['--json'], ['--format', 'json'], ['--format=json'], ['-f', 'json']]) {
      const run = await runCli(['status', ...flags, '--plan', 'no/such/lifeboat.yaml']);
      assert.equal(run.code, 2, run.stderr);
      const body = JSON.parse(run.stdout) as { error: string; message: string };
      assert.equal(body.error, 'usage', flags.join(' '));
      assert.match(body.message, /no\/such\/lifeboat\.yaml/);
    }
  });

  test('without them the error is text on stderr only', async () => {
    const run = await runCli(['status', '--format', 'text', '--plan', 'no/such/lifeboat.yaml']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^lifeboat: /);
  });
});
