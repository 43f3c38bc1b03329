/**
 * Restoring a dataset: `planRestore` picks the recovery point, reads `--to` and looks at the
 * target (what is there now); `applyRestore` moves the data and proves the result. Nothing is
 * written over existing data unless the caller says the user confirmed it (`force`): the
 * plan lists what would be replaced (`occupied`) and what a confirmed restore does to it
 * (`actions`), and `applyRestore` looks again right before writing.
 *
 * A driver that stages (`io.stage`: every kind but command) restores beside the target under a name of
 * its own; the proof measures that copy, and only a proven one is put in place, what it
 * replaces moved aside and kept (`result.replaced` says where and how to remove it). A failed
 * or unproven restore removes the copy; a killed one leaves it, and the next restore into the
 * same target removes it (`clearLeftovers`) and says so. The audit records `started` (with what
 * would be replaced) before anything is written, then the outcome.
 *
 * Streams go straight from `restic dump` into the source's restore tool (no temp copy, except
 * PostgreSQL's small roles script, filtered so that roles the target has keep their
 * passwords); files are restored by restic itself. A failed `restic dump` fails the restore.
 *
 * The proof, after every restore: the restored copy's fingerprint against the one recorded at
 * backup time, then the dataset's `verify.checks` on the copy. Policy on a fingerprint that
 * differs: a backup's fingerprint is measured on the live source beside the dump, so a
 * source under writes may legitimately differ from its own dump (not PostgreSQL's, whose
 * fingerprint reads the dump's own snapshot). `lenient` (restore's default)
 * accepts the difference with a warning when the dataset has checks and they all pass; with
 * no checks, or a failing one, the restore is reported failed (the data is there, but
 * unproven). `strict` (verify) never accepts a difference. A command dataset's fingerprint is
 * a second run of its command, so it is reported but never counts: its checks prove it.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  EnvironmentError,
  LifeboatError,
  OperationError,
  RefusedError,
  UsageError,
  coerceError,
  describeError,
} from '../errors.js';
import { actor as defaultActor } from './audit.js';
import { processStartTime } from '../system/process.js';
import { runChecks, type CheckResult, type CheckTarget } from './checks.js';
import type { DatasetHandle, ProtectContext } from './context.js';
import type { RestorePlan } from './restore-plan.js';
import type { FingerprintReport, RestoreEvent, RestoreResult } from './restore-result.js';
import {
  isDatabaseServer,
  restoreTargetOf,
  type Staging,
  type Store,
  type StreamedHash,
} from '../stores/index.js';
import { transfer } from './restore-transfer.js';
import { judge, proveFingerprint } from './restore-proof.js';

export {
  describeRestorePlan,
  planRestore,
  type RestorePlan,
  type RestoreRequest,
  type RestoreUnitPlan,
} from './restore-plan.js';
export type { FingerprintReport, RestoreEvent, RestoreResult } from './restore-result.js';

export interface ApplyRestoreOptions {
  /** The user confirmed replacing what `plan.occupied` lists. Default: false (then such a restore is refused). */
  force?: boolean;
  onEvent?: (event: RestoreEvent) => void;
  /** How a fingerprint difference counts (see the header). Default: `lenient`. */
  fingerprint?: 'strict' | 'lenient';
  /** The audit action recorded, or null for none (verify records its own). Default: `restore.run`. */
  audit?: string | null;
  actor?: string;
  /**
   * Asked before anything is replaced, when the plan needs a confirmation and `force` is set:
   * a person types the dataset's name. Throwing (a RefusedError) refuses the restore: it is
   * audited and nothing is written.
   */
  confirm?: () => Promise<void>;
}

export async function applyRestore(
  context: ProtectContext,
  plan: RestorePlan,
  options: ApplyRestoreOptions = {},
): Promise<RestoreResult> {
  const started = Date.now();
  const audit = options.audit === undefined ? 'restore.run' : options.audit;
  const record = async (outcome: string, details: Record<string, unknown>) => {
    if (audit === null) return;
    await (
      await context.state()
    ).appendAudit({
      actor: options.actor ?? defaultActor(),
      action: audit,
      target: `dataset:${plan.dataset}`,
      outcome,
      details: {
        snapshot: plan.recoveryPoint.snapshotId,
        run: plan.recoveryPoint.runId,
        target: plan.targetDescription,
        force: options.force === true,
        ...details,
      },
    });
  };

  if (plan.needsConfirmation && options.force === true && options.confirm) {
    try {
      await options.confirm();
    } catch (error) {
      if (error instanceof RefusedError) await record('refused', { reason: error.message });
      throw error;
    }
  }

  const handle = context.handle(plan.dataset);
  const store = handle.store();
  // The target may have changed since the plan was made: look again right before writing.
  const now = await store.observeTarget(plan.target);
  const occupied = [
    ...(plan.target.source ? [`the live source of dataset '${plan.dataset}'`] : []),
    ...now.occupied,
  ];
  if (occupied.length > 0 && options.force !== true) {
    await record('refused', { occupied });
    throw new RefusedError(
      `refusing to restore '${plan.dataset}' over existing data: ${occupied.join('; ')}`,
      {
        hint: 'restore into a new database or an empty directory, or confirm with --force (you will be asked to type the dataset name; --yes without a terminal)',
        details: { occupied },
      },
    );
  }

  const config = handle.source();
  const source = store.source(config, { dataset: plan.dataset, baseDir: context.planDir });
  const repository = await context.repository(plan.repository);
  const emit = options.onEvent ?? (() => {});
  const units: RestoreResult['units'] = [];
  let streamedHash: StreamedHash | undefined;
  let transferSeconds = 0;
  let provenOn: string | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  // Names what this restore creates beside the target, so that a killed one's leftovers are
  // recognised and the audit can tell which is which.
  const id = randomBytes(4).toString('hex');
  let staging: Staging | undefined;
  let committed = false;
  const leftovers = (await store.clearLeftovers?.(plan.target)) ?? [];
  // Recorded before anything is written: a restore killed midway still left its trace.
  await record('started', {
    restoreId: id,
    // Which process: status tells a restore still running from one that was killed.
    process: { pid: process.pid, start: processStartTime(process.pid) ?? null },
    replaces: occupied,
    ...(leftovers.length > 0 ? { leftoversRemoved: leftovers } : {}),
  });
  try {
    const transferStart = Date.now();
    try {
      const moved = await transfer({
        plan,
        store,
        source,
        config,
        repository,
        existing: now.existingDatabases,
        force: options.force === true,
        emit,
        cleanups,
        id,
        stage: (s) => (staging = s),
      });
      units.push(...moved.units);
      streamedHash = moved.streamedHash;
    } catch (error) {
      const message = describeError(coerceError(error));
      await record(error instanceof RefusedError ? 'refused' : 'failed', { restoreId: id, error: message });
      if (error instanceof RefusedError || error instanceof UsageError) throw error;
      // An unreachable server or a missing tool stays an environment failure (exit 3).
      const Failure = error instanceof EnvironmentError ? EnvironmentError : OperationError;
      throw new Failure(
        `restore of '${plan.dataset}' from snapshot ${plan.recoveryPoint.snapshotId.slice(0, 8)} failed: ${message}`,
        {
          cause: error,
          hint: staging
            ? 'nothing was replaced: the partial copy was removed and the target is as it was'
            : 'the target may hold a partial restore: look at it before using it, and restore again into a new target',
        },
      );
    }
    transferSeconds = (Date.now() - transferStart) / 1000;

    emit({ type: 'proving' });
    const staged = staging as Staging | undefined;
    let checkTarget = checkTargetOf(plan, handle, store, context.planDir);
    let restoredTarget = staged?.target ?? restoreTargetOf(plan.target);
    if (staged) checkTarget = stagedCheckTarget(checkTarget, staged);
    let fingerprint: FingerprintReport;
    let checks: CheckResult[];
    try {
      const server = await store.proveOn?.(plan.target);
      if (server) {
        cleanups.push(() => server.stop());
        provenOn = server.describe;
        restoredTarget = { kind: 'server', url: server.url };
        checkTarget = { ...checkTarget, url: server.url };
      }
      fingerprint = await proveFingerprint(plan, store, source, restoredTarget, streamedHash);
      checks = await runChecks(handle.dataset, checkTarget);
    } catch (error) {
      const message = describeError(coerceError(error));
      await record('failed', { restoreId: id, error: `the proof could not run: ${message}` });
      throw new OperationError(
        staged
          ? `'${plan.dataset}' was restored beside ${plan.targetDescription}, but the proof could not run: ${message}; the copy was removed and nothing was replaced`
          : `'${plan.dataset}' was restored into ${plan.targetDescription}, but the proof could not run: ${message}`,
        {
          cause: error,
        },
      );
    }
    const verdict = judge(plan, fingerprint, checks, options.fingerprint ?? 'lenient');
    let replaced: string[] = [];
    if (staged && verdict.ok) {
      pauseAt('before-swap');
      try {
        replaced = await staged.commit();
        committed = true;
      } catch (error) {
        const failure = coerceError(error);
        const message = describeError(failure);
        await record('failed', {
          restoreId: id,
          error: `putting the proven copy in place failed: ${message}`,
        });
        throw new OperationError(
          `'${plan.dataset}' was restored and proven, but putting it in place failed: ${message}`,
          {
            cause: error,
            // A driver whose swap failed half-way says where things are; only it knows.
            hint:
              (failure instanceof LifeboatError ? failure.hint : undefined) ??
              'the target is as it was; the copy was removed. Restore again once the cause is fixed',
          },
        );
      }
    }
    const unproven =
      staged && !verdict.ok
        ? ['the restored copy was not proven, so it was removed and the target left as it was']
        : [];
    const result: RestoreResult = {
      dataset: plan.dataset,
      snapshotId: plan.recoveryPoint.snapshotId,
      runId: plan.recoveryPoint.runId,
      backupStartedAt: plan.recoveryPoint.startedAt,
      target: plan.targetDescription,
      ok: verdict.ok,
      restoreSeconds: transferSeconds,
      totalSeconds: (Date.now() - started) / 1000,
      bytesRestored: units.reduce((sum, u) => sum + u.bytes, 0),
      units,
      fingerprint,
      checks,
      warnings: [
        ...plan.warnings,
        ...leftovers.map((l) => `removed what an interrupted restore left: ${l}`),
        ...verdict.warnings,
        ...unproven,
      ],
      ...(replaced.length > 0 ? { replaced } : {}),
      ...(verdict.error ? { error: verdict.error } : {}),
    };
    await record(result.ok ? 'ok' : 'failed', {
      restoreId: id,
      restoreSeconds: result.restoreSeconds,
      bytesRestored: result.bytesRestored,
      fingerprintEqual: fingerprint.equal,
      checksFailed: checks.filter((c) => !c.ok).map((c) => c.name),
      ...(replaced.length > 0 ? { replaced } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(provenOn ? { provenOn } : {}),
    });
    return result;
  } finally {
    const staged = staging as Staging | undefined;
    if (staged && !committed) await staged.discard().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** The checks run on the staged copy: its server and database names, or its directory. */
function stagedCheckTarget(base: CheckTarget, staged: Staging): CheckTarget {
  const target = staged.target;
  if (target.kind === 'directory') return { ...base, dir: target.path };
  return { ...base, url: target.url, ...(target.databases ? { databases: target.databases } : {}) };
}

/**
 * A test's way to hold a restore at a named moment (LIFEBOAT_TEST_PAUSE_AT=phase:file): the
 * file is written, then the process waits to be killed. Read here only.
 */
function pauseAt(phase: string): void {
  const wanted = process.env.LIFEBOAT_TEST_PAUSE_AT;
  if (wanted === undefined) return;
  const colon = wanted.indexOf(':');
  if (wanted.slice(0, colon) !== phase) return;
  writeFileSync(wanted.slice(colon + 1), phase);
  // A synchronous wait: nothing of the restore may move on while the test kills it.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 * 60_000);
}

function checkTargetOf(plan: RestorePlan, handle: DatasetHandle, store: Store, cwd: string): CheckTarget {
  const target = plan.target;
  const base = { type: plan.sourceType, cwd };
  if (isDatabaseServer(target)) {
    const restored = Object.keys(target.databases);
    const configured = handle.dataset.source;
    const listed = configured && 'databases' in configured ? (configured.databases ?? []) : [];
    // The dataset's first database as the plan lists it; else the first restored one that is
    // not the server's maintenance database.
    const defaultDatabase =
      listed.find((db) => restored.includes(db)) ??
      restored.find((db) => db !== store.maintenanceDatabase) ??
      restored[0];
    return {
      ...base,
      url: target.url,
      databases: target.databases,
      ...(defaultDatabase !== undefined ? { defaultDatabase } : {}),
    };
  }
  return 'url' in target ? { ...base, url: target.url } : { ...base, dir: target.path };
}
