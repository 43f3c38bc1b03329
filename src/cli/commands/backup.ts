/** lifeboat backup [DATASET...]: back up datasets now, at the plan's repositories. */
import { abortOnSignals } from '../shutdown.js';
import { ExitCode } from '../../errors.js';
import { backupFailure, planBackup, runBackup, type BackupEvent } from '../../protect/backup.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { reapLeftovers } from '../reap-leftovers.js';
import { formatBytes, formatSeconds, table } from '../format.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';
import { shortRecoveryPointId } from '../../protect/recovery-points.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'backup',
    args,
    {
      'dry-run': {
        type: 'boolean',
        short: 'n',
        help: 'print which datasets would be backed up, how and where; change nothing',
      },
      'configure-archiving': {
        type: 'boolean',
        help:
          "physical datasets: write PostgreSQL's WAL archiving settings for pgBackRest with ALTER\n" +
          'SYSTEM when they are missing (archive_mode takes effect at your next restart of the\n' +
          'server). Default: refuse, naming the settings',
      },
    },
    '[DATASET...] [--plan FILE] [--dry-run] [--configure-archiving] [--json]',
  );
  const json = parsed.flag('json');
  const dryRun = parsed.flag('dry-run');
  return withPlan(
    parsed.string('plan'),
    async (context) => {
      // Stopping what a killed command left running is a change: a dry run leaves it to the next real one.
      if (!dryRun) await reapLeftovers(json);
      const backupPlan = planBackup(context.plan, parsed.positionals, (id) => context.repositoryOf(id));
      if (dryRun) {
        if (json) process.stdout.write(JSON.stringify(backupPlan, null, 2) + '\n');
        else {
          process.stdout.write(
            table(
              ['dataset', 'source', 'method', 'repository'],
              backupPlan.items.map((i) => [i.dataset, i.sourceType, i.method, i.repository]),
            ),
          );
          for (const s of backupPlan.skipped) process.stdout.write(`skipped ${s.dataset}: ${s.reason}\n`);
        }
        return ExitCode.ok;
      }
      const progress = progressReporter({ json });
      const abort = abortOnSignals();
      const onEvent = (event: BackupEvent) => {
        if (event.type === 'progress') {
          progress.update({ label: `${event.dataset} ${event.unit}`, ...event.progress });
          return;
        }
        progress.event({ event: event.type, ...('result' in event ? event.result : event) });
        if (event.type === 'dataset-start')
          progress.line(`${event.dataset}: backing up ${event.units} unit(s), run ${event.run}`);
        if (event.type === 'unit-done')
          progress.line(
            `  ${event.unit}: ${formatBytes(event.bytesProcessed)} read, ${formatBytes(event.bytesAdded)} new`,
          );
        if (event.type === 'dataset-done')
          progress.line(
            `${event.result.dataset}: ok, snapshot ${event.result.snapshotId === undefined ? '-' : shortRecoveryPointId(event.result.snapshotId)} in ${formatSeconds(event.result.durationMs / 1000)}`,
          );
        if (event.type === 'dataset-failed') progress.line(`${event.dataset}: FAILED: ${event.error}`);
      };
      const results = await runBackup(context, backupPlan, {
        onEvent,
        signal: abort.signal,
        configureArchiving: parsed.flag('configure-archiving'),
      });
      abort.dispose();
      progress.done();
      if (json)
        process.stdout.write(JSON.stringify({ results, skipped: backupPlan.skipped }, null, 2) + '\n');
      else for (const s of backupPlan.skipped) process.stdout.write(`skipped ${s.dataset}: ${s.reason}\n`);
      if (abort.signal.aborted) return ExitCode.interrupted;
      const failure = backupFailure(results);
      if (failure) {
        if (!json) process.stderr.write(`lifeboat: ${failure.message}\n`);
        return failure.exitCode;
      }
      return ExitCode.ok;
    },
    { dryRun: parsed.flag('dry-run') },
  );
}
