/** lifeboat prune [--dry-run]: apply each dataset's retention to its repository. */
import { ExitCode } from '../../errors.js';
import { applyPrune, planPrune, type PruneReport } from '../../protect/prune.js';
import { describePolicy, type RunVerdict } from '../../protect/retention.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';
import { abortOnSignals } from '../shutdown.js';

const USAGE = `[--dry-run] [--plan FILE] [--json]

Applies each dataset's retention (plan key retention; default last 3, daily 7, weekly 4,
monthly 12) to the complete recovery points in its repository. A recovery point is a whole
backup run: its units and manifest are kept or removed together. Buckets (daily, weekly...)
are in UTC. Also removes what interrupted runs left (the snapshots of runs without a
complete manifest), at once when the state store records the run as failed, otherwise once
they are a day old. Then prunes the repository's data and
forgets the removed recovery points in the state store.`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'prune',
    args,
    {
      'dry-run': {
        type: 'boolean',
        short: 'n',
        help: 'print which runs would be kept or removed and why; change nothing',
      },
    },
    USAGE,
    { positionals: 0 },
  );
  const json = parsed.flag('json');
  return withPlan(
    parsed.string('plan'),
    async (context) => {
      const abort = abortOnSignals();
      let report: PruneReport;
      try {
        report = await applyPrune(context, planPrune(context.plan), {
          dryRun: parsed.flag('dry-run'),
          signal: abort.signal,
        });
      } finally {
        abort.dispose();
      }
      if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(formatReport(report));
      if (abort.signal.aborted) {
        if (!json) process.stderr.write('lifeboat: prune interrupted; what it did before is listed above\n');
        return ExitCode.interrupted;
      }
      const errors = [...report.repositories, ...report.physical].flatMap((r) => (r.error ? [r.error] : []));
      if (errors.length === 0) return ExitCode.ok;
      if (!json) for (const e of errors) process.stderr.write(`lifeboat: ${e.message}\n`);
      return errors.every((e) => e.kind === 'environment') ? ExitCode.environment : ExitCode.failed;
    },
    { dryRun: parsed.flag('dry-run') },
  );
}

function formatReport(report: PruneReport): string {
  const out: string[] = [];
  if (report.dryRun) out.push('dry run: nothing is changed\n');
  const verb = report.dryRun ? 'would be ' : '';
  for (const repo of report.repositories) {
    out.push(`repository ${repo.repository}${repo.note ? `: ${repo.note}` : ''}`);
    for (const d of repo.datasets) {
      out.push(`  ${d.dataset} (retention: ${describePolicy(d.policy)})`);
      const rows = [
        ...d.keep.map((v) => row(`${verb}kept`, v)),
        ...d.remove.map((v) => row(`${verb}removed`, v)),
        ...d.leftovers.map((v) => row(`${verb}removed (leftover)`, v)),
        ...d.waiting.map((v) => row('left for now', v)),
      ];
      if (rows.length === 0) out.push('    no recovery points');
      else out.push(indent(table(['run', 'time', 'snapshots', 'action', 'why'], rows), '    '));
    }
    if (repo.error) out.push(`  FAILED: ${repo.error.message}`);
    else if (!report.dryRun && !repo.note) {
      out.push(
        repo.forgotten.length > 0
          ? `  forgot ${repo.forgotten.length} snapshot(s), pruned the repository's data, removed ${repo.stateRecordsDeleted} recovery point(s) from the state store`
          : '  nothing to forget',
      );
    }
    out.push('');
  }
  for (const p of report.physical) {
    if (p.error) out.push(`pgBackRest ${p.dataset}: FAILED: ${p.error.message}`);
    else if (report.dryRun)
      out.push(`pgBackRest ${p.dataset}: pgbackrest expire would apply the plan's retention`);
    else
      out.push(
        `pgBackRest ${p.dataset}: expired ${p.expired.length ? p.expired.join(', ') : 'nothing'}; kept ${p.kept.join(', ') || 'nothing'}`,
      );
  }
  if (report.physical.length > 0) out.push('');
  for (const s of report.skipped) out.push(`skipped ${s.dataset}: ${s.reason}`);
  return out.join('\n') + (report.skipped.length > 0 ? '\n' : '');
}

function row(action: string, v: RunVerdict): string[] {
  return [
    v.run,
    v.time.replace('T', ' ').slice(0, 19),
    String(v.snapshotIds.length),
    action,
    v.reasons.join('; '),
  ];
}

function indent(text: string, prefix: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}
