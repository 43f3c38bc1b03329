import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { run } from '../cli/commands/drill-pitr.js';
import { findCommand } from '../cli/commands.js';
import { runCli } from '../cli/testing/run-cli.js';
import { UsageError } from '../errors.js';
import type { PitrDrillResult } from './pitr.js';

describe('lifeboat drill pitr', { timeout: 115_000 }, () => {
  test('--sandbox --json: ok, and exactly markers 1..3 for a time, an LSN and a restore point', async () => {
    // Through the built CLI once the command is registered; until then through the module.
    let stdout = '';
    let code: number;
    if (findCommand(['drill', 'pitr'])) {
      const cli = await runCli(['drill', 'pitr', '--sandbox', '--json'], { timeoutMs: 110_000 });
      stdout = cli.stdout;
      code = cli.code;
      assert.equal(code, 0, cli.stderr);
    } else {
      code = await run(
        ['--sandbox', '--json'],
        { json: true },
        { write: (text: string) => (stdout += text) },
      );
    }
    const result = JSON.parse(stdout) as PitrDrillResult;
    assert.equal(result.error, undefined);
    assert.equal(result.ok, true);
    assert.equal(code, 0);
    assert.deepEqual(result.markersExpected, [1, 2, 3]);
    assert.deepEqual(result.markersFound, [1, 2, 3]);
    assert.deepEqual(
      result.variants.map((v) => [v.type, v.ok, v.markersFound, v.archiveMode]),
      [
        ['time', true, [1, 2, 3], 'off'],
        ['lsn', true, [1, 2, 3], 'off'],
        ['restore-point', true, [1, 2, 3], 'off'],
      ],
    );
    assert.equal(result.repositoryUntouched, true);
    // The time target lies strictly between marker 3 and marker 4.
    const at = (n: number) => Date.parse(result.markers[n - 1]?.at ?? '');
    assert.ok(at(3) < Date.parse(result.target) && Date.parse(result.target) < at(4));
    assert.ok((result.restoreSeconds ?? 0) > 0);
  });

  test('without --sandbox it refuses to guess a target', async () => {
    await assert.rejects(run([], { json: false }), UsageError);
  });
});
