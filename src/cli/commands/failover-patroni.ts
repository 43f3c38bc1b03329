/**
 * failover and switchover of a dataset whose cluster Patroni manages (source.patroni):
 * Patroni holds the leader lock, so Lifeboat asks it to hand over instead of promoting by
 * itself. Same shape as the plain path: the decision shown first, a typed confirmation,
 * then the time until the new leader took writes.
 */
import { ExitCode, RefusedError } from '../../errors.js';
import { patroniHandover, type PatroniHandoverResult } from '../../respond/patroni/handover.js';
import { describeMembers } from '../../respond/patroni/handover-plan.js';
import type { FailoverMode } from '../../respond/failover/failover-plan.js';
import type { ParsedArgs } from '../args.js';
import { confirmTyped } from '../confirm.js';
import { formatSeconds } from '../format.js';
import { progressReporter } from '../progress.js';

export async function patroniRun(
  mode: FailoverMode,
  dataset: string,
  url: string,
  parsed: ParsedArgs,
  audit: (outcome: string, details: Record<string, unknown>) => Promise<unknown>,
): Promise<number> {
  const json = parsed.flag('json');
  const candidate = parsed.string('standby');
  const options = { url, mode, ...(candidate ? { candidate } : {}) };
  const preview = await patroniHandover({ ...options, dryRun: true });
  if (parsed.flag('dry-run')) {
    process.stdout.write(
      json ? JSON.stringify(report(dataset, preview), null, 2) + '\n' : text(dataset, preview),
    );
    return ExitCode.ok;
  }
  await confirmTyped({
    expected: dataset,
    message: text(dataset, preview).trimEnd(),
    yes: parsed.flag('yes'),
  }).catch((error: unknown) => {
    throw error instanceof RefusedError
      ? new RefusedError(`the ${mode} of ${dataset} was not confirmed: ${error.message}`, {
          hint: 'Review it with --dry-run, then confirm with --yes; nothing was changed.',
          cause: error,
        })
      : error;
  });
  const progress = progressReporter({ json });
  const result = await patroniHandover({ ...options, onProgress: (line) => progress.line(`  ${line}`) });
  progress.done();
  await audit('ok', { patroni: true, from: result.oldLeader, to: result.newLeader, seconds: result.seconds });
  process.stdout.write(
    json ? JSON.stringify(report(dataset, result), null, 2) + '\n' : text(dataset, result),
  );
  return ExitCode.ok;
}

function report(dataset: string, result: PatroniHandoverResult) {
  return { dataset, managedBy: 'patroni', ...result };
}

function text(dataset: string, result: PatroniHandoverResult): string {
  const from = result.oldLeader ?? 'no leader';
  const head = result.dryRun
    ? `${result.mode} of ${dataset} through Patroni: ${from} -> ${result.newLeader} (${result.lagBytesBefore} bytes behind)`
    : `${dataset}: ${result.newLeader} leads after a ${result.mode} through Patroni, ${formatSeconds(result.seconds)} from the request (was ${from})`;
  return `${head}\n  members: ${describeMembers(result.members)}\n`;
}
