/** lifeboat status [DATASET...] [--check]: per dataset, is it protected as the plan asks? */
import { resolve } from 'node:path';
import { poolerWarnings } from '../../doctor/traffic.js';
import { ExitCode, UsageError } from '../../errors.js';
import { collectStatus } from '../../metrics/collect-status.js';
import { datasetMetrics } from '../../metrics/dataset-metrics.js';
import { renderExposition } from '../../metrics/exposition.js';
import { writeFileAtomically } from '../write-file.js';
import { formatAge, type StatusRow } from '../../protect/status.js';
import { formatDuration } from '../../plan/duration.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { formatBytes, table } from '../format.js';
import { withPlan } from '../open-plan.js';

const USAGE = `[DATASET...] [--check] [--format text|json|prometheus] [-o FILE] [--plan FILE] [--json]

A dataset is compliant when all hold:
  1. its newest complete recovery point is no older than its RPO (dataset rpo, else
     objectives.rpo, else its backup cadence), counted from when that backup started;
  2. a verification passed within its verify cadence (verify.every, default daily), plus
     a grace of a quarter of the cadence, at most 1h;
  3. for PostgreSQL with method: physical, live on the primary: WAL archiving is on and
     not failing, and what a loss now would cost (the time since the last archived
     segment, when WAL was written after it) is within the RPO (exposure ok);
  4. the newest recovery point has not failed its verification (restore skips such a
     point; a new backup replaces it).
A failed or interrupted backup, or a failed verification of an older point, is a warning while the targets
hold, and is listed among the reasons when one does not. A primary or standby that cannot
be reached, a standby not streaming or lagging more than replication.max_lag, are
warnings (exposure unknown). Datasets without a source, or with an external one, are not
protected by Lifeboat and are not judged.

  --check        exit 1 when any dataset is not compliant (a monitoring probe); without it,
                 status exits 0 whatever it finds
  --format FMT   text (tables), json (the same as --json: { compliant, datasets }) or
                 prometheus (the text exposition format 0.0.4, for node_exporter's textfile
                 collector). Default: text
  -o FILE        write to FILE instead of stdout, whole or not at all (a temporary file
                 beside it, then a rename), as the textfile collector needs, e.g.
                 -o /var/lib/prometheus/node-exporter/lifeboat.prom. Default: stdout`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'status',
    args,
    {
      check: { type: 'boolean' },
      format: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o' },
    },
    USAGE,
  );
  const format = chooseFormat(parsed.string('format'), parsed.flag('json'));
  const output = parsed.string('output');
  return withPlan(parsed.string('plan'), async (context) => {
    for (const id of parsed.positionals) context.dataset(id);
    const named = parsed.positionals.length > 0 ? parsed.positionals : undefined;
    const snapshot = await collectStatus(context, named);
    // The pooler a failover goes through: its settings may make the RTO unreachable.
    const poolers = poolerWarnings(context.plan, context.planDir);
    const rows = snapshot.rows.map((r) =>
      poolers.has(r.dataset)
        ? { ...r, warnings: [...r.warnings, `failover pooler: ${poolers.get(r.dataset)}`] }
        : r,
    );
    const failing = rows.filter((r) => r.compliant === false);
    const text =
      format === 'json'
        ? JSON.stringify({ compliant: failing.length === 0, datasets: rows }, null, 2) + '\n'
        : format === 'prometheus'
          ? renderExposition(datasetMetrics(snapshot))
          : formatRows(rows);
    if (output === undefined) process.stdout.write(text);
    else writeFileAtomically(resolve(output), text);
    return parsed.flag('check') && failing.length > 0 ? ExitCode.failed : ExitCode.ok;
  });
}

type Format = 'text' | 'json' | 'prometheus';

function chooseFormat(option: string | undefined, json: boolean): Format {
  const format = option?.toLowerCase() ?? (json ? 'json' : 'text');
  if (format !== 'text' && format !== 'json' && format !== 'prometheus') {
    throw new UsageError(`status: unknown format '${option}'`, {
      hint: `use --format text, json or prometheus; usage: lifeboat status ${USAGE.split('\n')[0]}`,
    });
  }
  if (json && format !== 'json') {
    throw new UsageError(`status: --json and --format ${format} ask for two formats`, {
      hint: 'give one of them',
    });
  }
  return format;
}

function formatRows(rows: StatusRow[]): string {
  if (rows.length === 0) return 'the plan declares no datasets\n';
  const lines = table(
    ['dataset', 'rpo', 'newest', 'verified', 'last failure', 'status'],
    rows.map((r) => [
      r.dataset,
      r.rpoSeconds === null ? '-' : formatDuration(r.rpoSeconds),
      r.newest ? `${formatAge(r.newest.ageSeconds)} ago` : r.protected ? 'never' : '-',
      r.verified ? `${formatAge(r.verified.ageSeconds)} ago` : r.protected ? 'never' : '-',
      r.lastFailure
        ? `${formatAge(r.lastFailure.ageSeconds)} ago${r.lastFailure.interrupted ? ' (interrupted)' : ''}`
        : '-',
      verdict(r),
    ]),
  );
  const details = rows.flatMap((r) => [
    ...(r.note ? [`${r.dataset}: ${r.note}`] : []),
    ...r.reasons.map((reason) => `${r.dataset}: ${reason}`),
    ...r.warnings.map((warning) => `${r.dataset}: warning: ${warning}`),
  ]);
  return (
    lines + archiveTable(rows) + standbyTable(rows) + (details.length > 0 ? `\n${details.join('\n')}\n` : '')
  );
}

/** The live WAL archive exposure of the rows that archive WAL. */
function archiveTable(rows: StatusRow[]): string {
  const exposed = rows.filter((r) => r.exposure);
  return exposed.length === 0
    ? ''
    : '\nWAL archive, live:\n' +
        table(
          ['dataset', 'last archived', 'age', 'failures', 'exposure', 'rpo', 'status'],
          exposed.map((r) => {
            const e = r.exposure!;
            return [
              r.dataset,
              e.lastArchived?.wal ?? '-',
              e.lastArchived?.ageSeconds == null ? '-' : seconds(e.lastArchived.ageSeconds),
              e.failures.count === 0
                ? '0'
                : `${e.failures.count} (last ${e.failures.lastWal ?? '?'}${e.failures.failing ? ', failing' : ''})`,
              e.exposureSeconds === null
                ? '-'
                : `${seconds(e.exposureSeconds)}${e.bytesNotArchived === null ? '' : ` (${formatBytes(e.bytesNotArchived)})`}`,
              e.rpoSeconds === null ? '-' : formatDuration(e.rpoSeconds),
              e.status,
            ];
          }),
        );
}

/** The lag of the rows' standbys. */
function standbyTable(rows: StatusRow[]): string {
  const replicated = rows.filter((r) => r.replication);
  return replicated.length === 0
    ? ''
    : '\nStandbys, live:\n' +
        table(
          ['dataset', 'standby', 'status', 'replay lag', 'max lag'],
          replicated.map((r) => {
            const s = r.replication!;
            return [
              r.dataset,
              s.applicationName ?? s.standby,
              s.syncState ? `${s.status} (${s.syncState})` : s.status,
              s.replayLagBytes === null
                ? '-'
                : `${formatBytes(s.replayLagBytes)}, ${s.replayLagSeconds === null ? '?' : seconds(s.replayLagSeconds)}`,
              s.maxLagSeconds === null ? '-' : formatDuration(s.maxLagSeconds),
            ];
          }),
        );
}

/** An age or a lag, where 0 reads `0s`. */
const seconds = (value: number) => (value === 0 ? '0s' : formatAge(value));

function verdict(row: StatusRow): string {
  const running = row.running ? ', backup running' : '';
  if (row.compliant === null) return 'not protected';
  return (row.compliant ? 'ok' : 'NOT COMPLIANT') + running;
}
