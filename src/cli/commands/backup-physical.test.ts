/**
 * `lifeboat backup` of a physically protected PostgreSQL dataset: pgBackRest does the work
 * behind the same command, and WAL archiving is never changed unasked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { preparePhysicalDataset } from '../../protect/methods/physical/dataset.js';
import { startSandboxPrimary, type SandboxPrimary } from '../../protect/methods/physical/sandbox-primary.js';
import { applyArchiving, planDatasetArchiving } from '../../protect/methods/physical/setup.js';
import { runCli } from '../testing/run-cli.js';

let primary: SandboxPrimary;
before(async () => {
  primary = await startSandboxPrimary({ datasets: ['orders'] });
});
after(async () => {
  await primary?.cleanup();
});

describe('lifeboat backup of a physical dataset', () => {
  test('refuses while archiving is not set up, then backs up through pgBackRest', async () => {
    const plan = join(primary.workDir, 'lifeboat.yaml');
    const refused = await runCli(['backup', 'orders', '--plan', plan], { timeoutMs: 120_000 });
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /archiving of 'orders' is not set up: .*archive_mode = on/);

    // What an operator does once: apply the settings and restart the server their way.
    const dataset = await preparePhysicalDataset(primary.context, 'orders');
    await applyArchiving(dataset, planDatasetArchiving(dataset), {
      confirmed: true,
      restart: primary.restart,
    });

    const result = await runCli(['backup', 'orders', '--plan', plan, '--json'], { timeoutMs: 180_000 });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { results: { dataset: string; ok: boolean; run: string }[] };
    assert.equal(report.results[0]!.ok, true);
    assert.match(
      report.results[0]!.run,
      /^\d{8}-\d{6}F$/,
      'the first physical backup is a full one, labelled by pgBackRest',
    );
  });
});
