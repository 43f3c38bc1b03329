/** lifeboat snapshots [DATASET]: the recovery points the state store knows, newest first. */
import { ExitCode } from '../../errors.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { formatBytes, formatSeconds, table } from '../format.js';
import { withPlan } from '../open-plan.js';
import { reconcileDataset } from '../../protect/reconcile.js';
import { recoveryPointId, shortRecoveryPointId } from '../../protect/recovery-points.js';
import type { SnapshotRecord, StateStore, VerificationRecord } from '../../state/store.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'snapshots',
    args,
    {
      all: {
        type: 'boolean',
        short: 'a',
        help: 'also failed and interrupted runs. Default: complete recovery points only',
      },
      limit: {
        type: 'integer',
        value: 'N',
        min: 1,
        max: 100_000,
        help: 'at most N runs per dataset, newest first. Default: 20',
      },
    },
    '[DATASET] [--all] [--limit N] [--plan FILE] [--json]',
  );
  return withPlan(parsed.string('plan'), async (context) => {
    const ids = parsed.positionals.length > 0 ? parsed.positionals : Object.keys(context.plan.datasets ?? {});
    for (const id of ids) context.dataset(id);
    const state = await context.state();
    const limit = parsed.number('limit') ?? 20;
    const rows = [];
    for (const id of ids) {
      // A run a crash left pending or half-pruned is shown as what the repository says it is.
      await reconcileDataset(context, id);
      const records = await state.listSnapshots(id, {
        limit,
        ...(parsed.flag('all') ? {} : { status: 'complete' as const }),
      });
      rows.push(...(await withVerification(state, id, records)));
    }
    rows.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    if (parsed.flag('json')) {
      process.stdout.write(JSON.stringify({ snapshots: rows }, null, 2) + '\n');
      return ExitCode.ok;
    }
    if (rows.length === 0) {
      process.stdout.write('no recovery points yet; run `lifeboat backup`\n');
      return ExitCode.ok;
    }
    process.stdout.write(
      table(
        ['snapshot', 'dataset', 'time', 'status', 'size', 'new', 'took', 'repository', 'verified'],
        rows.map((r) => [
          r.id === null ? '-' : shortRecoveryPointId(r.id),
          r.dataset,
          r.startedAt.replace('T', ' ').slice(0, 19),
          r.status === 'failed' ? `failed: ${(r.error ?? '').slice(0, 60)}` : r.status,
          r.totalBytes === null ? '-' : formatBytes(r.totalBytes),
          r.bytesAdded === null ? '-' : formatBytes(r.bytesAdded),
          r.durationMs === null ? '-' : formatSeconds(r.durationMs / 1000),
          r.repository,
          verifiedCell(r.verification),
        ]),
      ),
    );
    return ExitCode.ok;
  });
}

/** Each record with its last verification (null when never verified), so that a failed one shows. */
async function withVerification(
  state: StateStore,
  dataset: string,
  records: SnapshotRecord[],
): Promise<
  (Omit<SnapshotRecord, 'id'> & {
    id: string | null;
    recordId: string;
    verification: Pick<VerificationRecord, 'ok' | 'finishedAt' | 'error'> | null;
  })[]
> {
  const latest = new Map<string, VerificationRecord>();
  for (const v of await state.listVerifications(dataset, { limit: 100_000 }))
    if (v.snapshotId !== null && !latest.has(v.snapshotId)) latest.set(v.snapshotId, v);
  return records.map((r) => {
    const v = latest.get(r.id);
    // `id` is the recovery point's (what backup prints and restore --snapshot takes); the
    // state store's own key, which no other command accepts, is `recordId`.
    return {
      ...r,
      id: recoveryPointId(r),
      recordId: r.id,
      verification: v ? { ok: v.ok, finishedAt: v.finishedAt, error: v.error } : null,
    };
  });
}

function verifiedCell(v: Pick<VerificationRecord, 'ok' | 'error'> | null): string {
  if (!v) return '-';
  return v.ok ? 'ok' : `FAILED: ${(v.error ?? '').slice(0, 60)}`;
}
