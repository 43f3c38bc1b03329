/**
 * `lifeboat restore` of a physically protected PostgreSQL dataset: point-in-time recovery with
 * pgBackRest into a new cluster (a data directory and a port), started and out of recovery.
 * `--dry-run` shows the recovery point, where the cluster would go and the pgbackrest command,
 * and runs nothing but `pgbackrest info`.
 */
import { ExitCode } from '../../errors.js';
import type { ProtectContext } from '../../protect/context.js';
import {
  previewRestorePhysical,
  restorePhysical,
  type PhysicalRestorePreview,
  type RestorePhysicalOptions,
} from '../../protect/methods/physical/restore.js';
import type { PhysicalRestorePlan } from '../../engines/pgbackrest/restore-plan.js';
import type { ParsedArgs } from '../args.js';
import { confirmTyped } from '../confirm.js';
import { formatSeconds } from '../format.js';

export async function restorePhysicalDataset(
  context: ProtectContext,
  dataset: string,
  parsed: ParsedArgs,
): Promise<number> {
  const to = parsed.string('to');
  const port = parsed.number('port');
  const options: RestorePhysicalOptions = {
    dataset,
    ...(parsed.string('at') !== undefined ? { at: parsed.string('at')! } : {}),
    ...(parsed.string('snapshot') !== undefined ? { snapshot: parsed.string('snapshot')! } : {}),
    ...(parsed.string('lsn') !== undefined ? { lsn: parsed.string('lsn')! } : {}),
    ...(parsed.string('restore-point') !== undefined
      ? { restorePoint: parsed.string('restore-point')! }
      : {}),
    ...(to !== undefined && to !== 'new' ? { toDataDir: to } : {}),
    ...(port !== undefined ? { toPort: port } : {}),
    force: parsed.flag('force'),
  };
  if (parsed.flag('dry-run')) {
    const preview = await previewRestorePhysical(context, options);
    if (parsed.flag('json'))
      process.stdout.write(JSON.stringify({ dryRun: true, plan: describePreview(preview) }, null, 2) + '\n');
    else process.stdout.write(formatPreview(preview));
    return ExitCode.ok;
  }
  const result = await restorePhysical(context, {
    ...options,
    // Only a restore over a non-empty directory (--force, pgbackrest --delta) asks.
    confirm: (plan) =>
      confirmTyped({ expected: dataset, message: overwriteText(plan), yes: parsed.flag('yes') }),
  });
  if (parsed.flag('json')) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else
    process.stdout.write(
      `${dataset}: recovered to ${result.target} in ${formatSeconds(result.seconds)}\n` +
        `  data directory: ${result.dataDir}\n  running on:     ${result.url}\n`,
    );
  return ExitCode.ok;
}

function overwriteText(plan: PhysicalRestorePlan): string {
  return (
    `Restoring ${plan.dataset} to ${plan.description} writes over ${plan.toDataDir}, which is not empty:\n` +
    '  pgbackrest restore --delta replaces every file there that differs from the backup.'
  );
}

function describePreview(preview: PhysicalRestorePreview): Record<string, unknown> {
  const { plan } = preview;
  return {
    dataset: plan.dataset,
    method: 'physical',
    target: plan.description,
    recoveryTarget: plan.target,
    set: plan.set,
    dataDir: plan.toDataDir,
    port: plan.toPort,
    portChosen: preview.portChosen,
    delta: plan.delta,
    needsConfirmation: plan.delta,
    pgVersion: preview.pgVersion ?? null,
    command: preview.command,
  };
}

function formatPreview(preview: PhysicalRestorePreview): string {
  const { plan } = preview;
  const lines = [
    `Restore plan for ${plan.dataset} (physical, pgBackRest):`,
    `  recover to: ${plan.description}`,
    `  from backup set: ${plan.set} (WAL replayed from its end)`,
    `  new cluster: ${plan.toDataDir}, port ${plan.toPort}${preview.portChosen ? ' (free now; chosen again at restore time)' : ''}` +
      (preview.pgVersion ? `, PostgreSQL ${preview.pgVersion}` : ''),
    `  command: ${preview.command.join(' ')}`,
    '  then: start the cluster (archive_mode off), wait until recovery ends and it is promoted',
  ];
  lines.push(
    plan.delta
      ? `  ${plan.toDataDir} is not empty: restored over with --delta, after a typed confirmation (or --yes)`
      : '  the directory is new or empty: no confirmation needed',
  );
  lines.push('(dry run: nothing was changed)');
  return lines.join('\n') + '\n';
}
