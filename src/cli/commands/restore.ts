/**
 * lifeboat restore DATASET --to TARGET: restore a recovery point (the newest, `--snapshot`,
 * or `--at` a time) into a new database or directory, or over existing data after a typed
 * confirmation, then prove it (fingerprint and checks). Exit 0 when proven, 1 when the data
 * was restored but not proven, 4 when refused.
 */
import { ExitCode, UsageError } from '../../errors.js';
import { protectionMethod, type ProtectionKind } from '../../protect/methods/index.js';
import {
  applyRestore,
  describeRestorePlan,
  planRestore,
  type RestoreEvent,
  type RestorePlan,
  type RestoreResult,
} from '../../protect/restore.js';
import { parseTime, shortRecoveryPointId } from '../../protect/recovery-points.js';
import { parseLsn } from '../../engines/pgbackrest/lsn.js';
import { checkRestorePointName, parseRecoveryTime } from '../../engines/pgbackrest/target.js';
import { parseCommandArgs, type OptionSpecs, type ParsedArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { reapLeftovers } from '../reap-leftovers.js';
import { confirmTyped } from '../confirm.js';
import { formatBytes, formatSeconds } from '../format.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';

const usage =
  'DATASET --to TARGET [--snapshot ID | --at TIME] [--database SRC[=DEST]]... [--force] [--yes] [--dry-run] [--json] [--plan FILE]\n' +
  '       physical (pgBackRest) datasets: DATASET [--to NEW_DATA_DIR] [--port N] [--snapshot ID | --at TIME | --lsn LSN | --restore-point NAME] [--force] [--yes] [--dry-run]';

const options = {
  to: {
    type: 'string',
    value: 'TARGET',
    short: 't',
    help:
      'where the data goes: a new database (postgres://HOST:PORT/NEWDB), a new directory, or\n' +
      '`source` (the live source, with --force). Physical datasets: the new data directory.\n' +
      'Default (physical only): .lifeboat/restores/DATASET-TIME/data',
  },
  snapshot: {
    type: 'string',
    value: 'ID',
    short: 's',
    help:
      'the recovery point to restore: its id as `lifeboat snapshots` shows it, or a prefix naming\n' +
      'one (physical: that backup, recovered to its own end). Default: the newest whose last\n' +
      'verification did not fail (physical: the end of the archived WAL)',
  },
  at: {
    type: 'string',
    value: 'TIME',
    help:
      'logical: the newest recovery point taken at or before TIME (ISO 8601 or YYYY-MM-DD HH:MM,\n' +
      'local time unless it ends with Z or +HH:MM); physical: recover to TIME (ISO 8601, UTC\n' +
      'unless it ends with a zone). Default: the newest',
  },
  database: {
    type: 'string',
    value: 'SRC[=DEST]',
    multiple: true,
    short: 'd',
    help: 'restore only database SRC (as DEST); repeatable; PostgreSQL and MySQL logical datasets. Default: every database, same names',
  },
  force: {
    type: 'boolean',
    help:
      'allow replacing existing data (a target that holds data, the live source; physical: a\n' +
      'non-empty data directory, restored over with pgbackrest --delta), after a typed\n' +
      'confirmation. Default: refused (exit 4)',
  },
  yes: {
    type: 'boolean',
    short: 'y',
    help: 'confirm without typing, where --force asks (and without a terminal). Default: ask',
  },
  'dry-run': {
    type: 'boolean',
    short: 'n',
    help: 'print the plan (recovery point, target, what would be replaced, the pgbackrest command); change nothing',
  },
  lsn: { type: 'string', value: 'LSN', help: 'physical: recover to this WAL position (e.g. 0/3000060)' },
  'restore-point': {
    type: 'string',
    value: 'NAME',
    help: 'physical: recover to a point made with `lifeboat restore-point create`',
  },
  port: {
    type: 'port',
    help: 'physical: the port the restored cluster listens on. Default: a free one',
  },
} as const satisfies OptionSpecs;

/**
 * The options each way of restoring takes; any other is refused rather than ignored. A
 * logical restore picks a recovery point into a target; a physical one replays WAL to a point
 * into a new cluster.
 */
const onlyFor: Record<string, { method: ProtectionKind; instead: string }> = {
  database: {
    method: 'logical',
    instead: 'a physical dataset restores the whole cluster into a new data directory (--to DIR)',
  },
  lsn: {
    method: 'physical',
    instead: 'a logical dataset restores a recovery point: --snapshot ID or --at TIME',
  },
  'restore-point': {
    method: 'physical',
    instead: 'a logical dataset restores a recovery point: --snapshot ID or --at TIME',
  },
  port: {
    method: 'physical',
    instead: 'a logical dataset restores into the server --to names (its URL carries the port)',
  },
};

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('restore', args, options, usage);
  const json = parsed.flag('json');
  const [dataset, ...extra] = parsed.positionals;
  if (dataset === undefined || extra.length > 0) {
    throw new UsageError(
      dataset === undefined
        ? 'restore: name the dataset to restore'
        : `restore: one dataset at a time (got ${parsed.positionals.join(', ')})`,
      {
        hint: `usage: lifeboat restore ${usage}`,
      },
    );
  }
  const to = parsed.string('to');
  const databases = (parsed.values.database as string[] | undefined) ?? [];
  const dryRun = parsed.flag('dry-run');
  return withPlan(
    parsed.string('plan'),
    async (context) => {
      const handle = context.handle(dataset);
      refuseInapplicable(parsed, dataset, handle.method);
      checkPointOptions(parsed, handle.method);
      // Stopping what a killed command left running is a change: a dry run leaves it to the next real one.
      const reap = () => (dryRun ? Promise.resolve() : reapLeftovers(json));
      if (protectionMethod(handle).restoreToPoint) {
        await reap();
        return (await import('./restore-physical.js')).restorePhysicalDataset(context, dataset, parsed);
      }
      if (to === undefined) {
        throw new UsageError('restore: --to is required: where the data goes', {
          hint: 'a new database (--to postgres://HOST:PORT/NEWDB), a new directory (--to ./restored), or --to source --force',
        });
      }
      await reap();
      const plan = await planRestore(context, {
        dataset,
        to,
        databases,
        ...(parsed.string('snapshot') !== undefined ? { snapshot: parsed.string('snapshot')! } : {}),
        ...(parsed.string('at') !== undefined ? { at: parsed.string('at')! } : {}),
      });
      if (dryRun) {
        if (json)
          process.stdout.write(
            JSON.stringify({ dryRun: true, plan: describeRestorePlan(plan) }, null, 2) + '\n',
          );
        else process.stdout.write(formatPlan(plan, parsed.flag('force')));
        return ExitCode.ok;
      }

      const force = parsed.flag('force');
      const showHeader = () => {
        if (!json) process.stderr.write(header(plan));
      };
      // Asked by applyRestore, which audits a refusal; unconfirmed, it refuses before writing anything.
      const confirm = async () => {
        await confirmTyped({ expected: dataset, message: confirmationText(plan), yes: parsed.flag('yes') });
        showHeader();
      };
      if (!plan.needsConfirmation) showHeader();
      const progress = progressReporter({ json });
      const onEvent = (event: RestoreEvent) => {
        if (event.type === 'progress') {
          progress.update({
            label: event.unit,
            bytesDone: event.bytesDone,
            totalBytes: event.totalBytes,
            secondsElapsed: event.secondsElapsed,
          });
          return;
        }
        progress.event({ event: event.type, ...event });
        if (event.type === 'unit-done') {
          progress.line(
            `  ${event.unit}: ${formatBytes(event.bytes)} in ${formatSeconds(event.seconds)}${event.note ? ` (${event.note})` : ''}`,
          );
        }
        if (event.type === 'proving') progress.line('  proving the restored copy: fingerprint and checks');
      };
      // With force, the user has confirmed above; applyRestore refuses anything unconfirmed.
      const result = await applyRestore(context, plan, { force, confirm, onEvent });
      progress.done();
      if (json)
        process.stdout.write(JSON.stringify({ plan: describeRestorePlan(plan), result }, null, 2) + '\n');
      else process.stdout.write(formatResult(result));
      if (!result.ok) {
        if (!json)
          process.stderr.write(
            `lifeboat: the restore of '${dataset}' is not proven (see the warnings for whether the copy was kept): ${result.error}\n`,
          );
        return ExitCode.failed;
      }
      return ExitCode.ok;
    },
    { dryRun: parsed.flag('dry-run') },
  );
}

function refuseInapplicable(parsed: ParsedArgs, dataset: string, method: ProtectionKind): void {
  for (const [name, rule] of Object.entries(onlyFor)) {
    if (rule.method === method || !parsed.given(name)) continue;
    throw new UsageError(
      `restore: --${name} does not apply to '${dataset}', a ${method === 'physical' ? 'physical (pgBackRest)' : 'logical'} dataset`,
      { hint: `${rule.instead}; lifeboat restore --help lists each option` },
    );
  }
}

/**
 * The recovery point options, read as the dataset's method reads them, before the state store,
 * the repository or a server is asked: a time written wrong is a usage error naming its option.
 */
function checkPointOptions(parsed: ParsedArgs, method: ProtectionKind): void {
  const readers: Record<string, (text: string) => unknown> =
    method === 'physical'
      ? { at: parseRecoveryTime, lsn: parseLsn, 'restore-point': checkRestorePointName }
      : { at: parseTime };
  for (const [name, read] of Object.entries(readers)) {
    const value = parsed.string(name);
    if (value === undefined) continue;
    try {
      read(value);
    } catch (error) {
      if (!(error instanceof UsageError) || error.message.includes(`--${name}`)) throw error;
      throw new UsageError(`restore: --${name}: ${error.message}`, { hint: error.hint, cause: error });
    }
  }
}

function pointLine(plan: RestorePlan): string {
  const p = plan.recoveryPoint;
  return `snapshot ${shortRecoveryPointId(p.snapshotId)} (backup of ${p.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, chosen: ${p.chosenBy})`;
}

function header(plan: RestorePlan): string {
  return `Restoring ${plan.dataset} from ${pointLine(plan)}\n  into ${plan.targetDescription}\n`;
}

function confirmationText(plan: RestorePlan): string {
  return [
    `Restoring ${plan.dataset} from ${pointLine(plan)} replaces existing data:`,
    ...plan.occupied.map((o) => `  - ${o}`),
    'It will:',
    ...plan.actions.map((a) => `  - ${a}`),
  ].join('\n');
}

function formatPlan(plan: RestorePlan, force: boolean): string {
  const lines = [
    `Restore plan for ${plan.dataset} (${plan.sourceType}, repository ${plan.repository}):`,
    `  recovery point: ${pointLine(plan)}`,
    `  target: ${plan.targetDescription}`,
    ...plan.units.map((u) => `  ${u.filename} (${formatBytes(u.bytes)}) → ${u.into}`),
    `  then: compare the fingerprint and run ${plan.checks} check(s)`,
  ];
  if (plan.needsConfirmation) {
    lines.push('  the target holds data:', ...plan.occupied.map((o) => `    - ${o}`));
    lines.push('  a confirmed restore would:', ...plan.actions.map((a) => `    - ${a}`));
    lines.push(
      force
        ? '  needs: typing the dataset name (or --yes)'
        : '  needs: --force and a typed confirmation (refused as given)',
    );
  } else lines.push('  the target is new or empty: no confirmation needed');
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  lines.push('(dry run: nothing was changed)');
  return lines.join('\n') + '\n';
}

function formatResult(result: RestoreResult): string {
  const lines: string[] = [];
  const f = result.fingerprint;
  if (f.compared) {
    lines.push(
      f.equal
        ? `Fingerprint: equal (${f.items} item(s) compared${f.categories?.length ? `: ${f.categories.join(', ')}` : ''})`
        : `Fingerprint: DIFFERS in ${f.differences.length} item(s)`,
    );
    for (const d of f.differences.slice(0, 10)) lines.push(`  ${d}`);
    if (f.differences.length > 10) lines.push(`  … and ${f.differences.length - 10} more`);
  } else lines.push(`Fingerprint: not compared (${f.note ?? 'nothing recorded'})`);
  const passed = result.checks.filter((c) => c.ok).length;
  lines.push(
    result.checks.length === 0
      ? 'Checks: none in the plan'
      : `Checks: ${passed} of ${result.checks.length} passed`,
  );
  for (const c of result.checks) {
    lines.push(
      `  ${c.ok ? 'ok    ' : 'FAILED'} ${c.name} (expected ${c.expected}${c.actual !== undefined ? `, got ${c.actual}` : ''})${c.error && !c.ok ? `: ${c.error}` : ''}`,
    );
  }
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  for (const r of result.replaced ?? []) lines.push(`replaced: ${r}`);
  lines.push(
    `${result.ok ? 'Restored and proven' : 'Restored, NOT proven'}: ${formatBytes(result.bytesRestored)} in ${formatSeconds(result.restoreSeconds)} (${formatSeconds(result.totalSeconds)} with the proof) into ${result.target}`,
  );
  return lines.join('\n') + '\n';
}
