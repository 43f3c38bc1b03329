/**
 * lifeboat verify [DATASET...]: restore each dataset's newest recovery point into a
 * throwaway instance, compare and check it, and record the outcome. Exit 1 if any failed.
 */
import { ExitCode } from '../../errors.js';
import { runVerify, type VerifyEvent, type VerifyResult } from '../../protect/verify.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { reapLeftovers } from '../reap-leftovers.js';
import { formatSeconds, table } from '../format.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';
import { abortOnSignals } from '../shutdown.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'verify',
    args,
    {
      'read-data-subset': {
        type: 'pattern',
        value: 'SUBSET',
        // What restic check --read-data-subset reads: n/t, a percentage, or a size.
        pattern: /^(\d+\/\d+|(100|\d{1,2}(\.\d+)?)%|\d+[KMGT])$/,
        takes: 'what restic check reads of the data: a percentage (5%), a part (1/5) or a size (500M)',
        help: "how much of the repository's data `restic check` reads back: 5%, 1/5 or 500M. Default: 5%",
      },
    },
    '[DATASET...] [--read-data-subset 5%] [--plan FILE] [--json]',
  );
  const json = parsed.flag('json');
  return withPlan(parsed.string('plan'), async (context) => {
    await reapLeftovers(json);
    const progress = progressReporter({ json });
    const onEvent = (event: VerifyEvent) => {
      if (event.type === 'restore') {
        if (event.event.type === 'progress') {
          const e = event.event;
          progress.update({
            label: `${event.dataset} ${e.unit}`,
            bytesDone: e.bytesDone,
            totalBytes: e.totalBytes,
            secondsElapsed: e.secondsElapsed,
          });
        }
        return;
      }
      progress.event({
        event: event.type,
        ...(event.type === 'dataset-done' ? { result: event.result } : event),
      });
      if (event.type === 'dataset-start')
        progress.line(`${event.dataset}: verifying snapshot ${event.snapshotId.slice(0, 8)}`);
      if (event.type === 'instance-started')
        progress.line(`  ${event.instance} ready in ${formatSeconds(event.seconds)}`);
      if (event.type === 'restic-check')
        progress.line(
          `repository ${event.repository}: restic check ${event.ok ? 'ok' : 'FAILED'} in ${formatSeconds(event.seconds)}`,
        );
      if (event.type === 'dataset-done')
        progress.line(
          `${event.result.dataset}: ${event.result.ok ? 'verified' : `FAILED: ${event.result.error ?? ''}`}`,
        );
    };
    const abort = abortOnSignals();
    let results: VerifyResult[];
    try {
      results = await runVerify(context, parsed.positionals, {
        onEvent,
        signal: abort.signal,
        ...(parsed.string('read-data-subset') !== undefined
          ? { readDataSubset: parsed.string('read-data-subset')! }
          : {}),
      });
    } finally {
      abort.dispose();
    }
    progress.done();
    if (json)
      process.stdout.write(
        JSON.stringify({ ok: !abort.signal.aborted && results.every((r) => r.ok), results }, null, 2) + '\n',
      );
    else process.stdout.write(formatResults(results));
    if (abort.signal.aborted) return ExitCode.interrupted;
    return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
  });
}

function formatResults(results: VerifyResult[]): string {
  if (results.length === 0) return 'no dataset with a source to verify\n';
  const rows = results.map((r) => [
    r.dataset,
    r.snapshotId ? r.snapshotId.slice(0, 8) : '-',
    r.snapshotId ? formatSeconds(r.restoreSeconds) : '-',
    !r.fingerprint.compared ? 'n/a' : r.fingerprint.equal ? 'equal' : 'DIFFERS',
    r.checks.length === 0 ? '-' : `${r.checks.filter((c) => c.ok).length}/${r.checks.length}`,
    r.resticCheck.readDataSubset === '' ? '-' : r.resticCheck.ok ? 'ok' : 'FAILED',
    r.ok ? 'ok' : 'FAILED',
  ]);
  let out = table(
    ['dataset', 'snapshot', 'restore', 'fingerprint', 'checks', 'restic check', 'result'],
    rows,
  );
  for (const r of results.filter((x) => !x.ok)) out += `${r.dataset}: ${r.error ?? 'failed'}\n`;
  return out;
}
