/** lifeboat catalog rebuild: the state store's recovery points, rebuilt from the repositories. */
import { ExitCode } from '../../errors.js';
import { rebuildCatalog, type CatalogReport } from '../../protect/catalog.js';
import { rebuildCatalogInto } from '../../protect/catalog-rebuild-into.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { withPlan } from '../open-plan.js';

const USAGE = `[--dry-run | --into NEW_FILE] [--plan FILE] [--json]

Reads every repository the plan backs up to (snapshots tagged lifeboat and this plan's
organization), records each complete run the state store does not know (from its
manifest: units, fingerprint, start and end times), and removes state records whose
manifest snapshot is no longer in the repository. Verifications, failures and the audit
log live only in the state store and cannot be rebuilt.`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'catalog rebuild',
    args,
    {
      'dry-run': { type: 'boolean', short: 'n', help: 'print what would change; change nothing' },
      into: {
        type: 'string',
        value: 'NEW_FILE',
        help:
          "write the records into a new state store NEW_FILE instead (the plan's own is not\n" +
          'opened: for a damaged one); then move it into place as printed',
      },
    },
    USAGE,
    { positionals: 0 },
  );
  return withPlan(
    parsed.string('plan'),
    async (context) => {
      const into = parsed.string('into');
      const rebuilt = into
        ? await rebuildCatalogInto(context, into, { dryRun: parsed.flag('dry-run') })
        : undefined;
      const report = rebuilt ?? (await rebuildCatalog(context, { dryRun: parsed.flag('dry-run') }));
      if (parsed.flag('json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(formatReport(report) + (rebuilt ? `${rebuilt.into.next}\n` : ''));
      const errors = report.repositories.flatMap((r) => (r.error ? [r.error] : []));
      if (errors.length === 0)
        return report.repositories.some((r) => r.unreadable.length > 0) ? ExitCode.failed : ExitCode.ok;
      if (!parsed.flag('json')) for (const e of errors) process.stderr.write(`lifeboat: ${e.message}\n`);
      return errors.every((e) => e.kind === 'environment') ? ExitCode.environment : ExitCode.failed;
    },
    { dryRun: parsed.flag('dry-run') },
  );
}

function formatReport(report: CatalogReport): string {
  const verb = report.dryRun ? 'would ' : '';
  const out: string[] = report.dryRun ? ['dry run: nothing is changed'] : [];
  for (const r of report.repositories) {
    if (r.error) {
      out.push(`repository ${r.repository}: FAILED: ${r.error.message}`);
      continue;
    }
    if (r.note) {
      out.push(`repository ${r.repository}: ${r.note}`);
      continue;
    }
    out.push(
      `repository ${r.repository}: ${r.runs} recovery point(s), ${r.known} already known, ` +
        `${verb}add ${r.inserted.length}, ${verb}remove ${r.removed.length} whose snapshot is gone`,
    );
    for (const i of r.inserted)
      out.push(
        `  ${verb}add     ${i.dataset} run ${i.run} (snapshot ${i.snapshotId.slice(0, 8)}, ${i.startedAt})`,
      );
    for (const x of r.removed)
      out.push(
        `  ${verb}remove  ${x.dataset} run ${x.run ?? '?'} (snapshot ${x.snapshotId?.slice(0, 8) ?? '-'}, ${x.startedAt})`,
      );
    for (const u of r.unreadable)
      out.push(`  unreadable ${u.dataset} run ${u.run} (snapshot ${u.snapshotId.slice(0, 8)}): ${u.error}`);
  }
  return out.join('\n') + '\n';
}
