/**
 * Proving backups: for each dataset, its newest complete recovery point is restored into a
 * throwaway instance of the right kind (a PostgreSQL, MariaDB or Redis server started for
 * the purpose, a temp dir for files and command output), measured against the fingerprint
 * recorded at backup time, and checked with the dataset's `verify.checks`; the repository
 * itself gets `restic check --read-data-subset` once per run. Every outcome, good or bad, is
 * recorded in the state store: that record is what `status` and the RPO scorecard trust.
 *
 * The instance is fresh, so the fingerprint must be equal (policy `strict`, see restore.ts):
 * a difference fails the verification even when the checks pass. A source under heavy
 * writes can therefore fail here while its data is fine; the message says so, and a restore
 * of the same point (policy `lenient`) accepts it when the checks pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, InterruptedError, LifeboatError, UsageError, coerceError } from '../errors.js';
import { actor as defaultActor } from './audit.js';
import { describeError } from '../errors.js';
import type { ProtectContext } from './context.js';
import { notVerified, type VerifyEvent, type VerifyResult } from './verify-result.js';
import { findRecoveryPoint, type RecoveryPoint } from './recovery-points.js';
import { applyRestore, planRestore } from './restore.js';
import { pausePoint, pausePointSync } from './pause-point.js';
import { findStore, isProtectable, protectableKindList, type Throwaway } from '../stores/index.js';

export type { VerifyEvent, VerifyResult } from './verify-result.js';

export interface VerifyOptions {
  /** Share of the repository's pack files `restic check` reads back. Default: `5%`. */
  readDataSubset?: string;
  onEvent?: (event: VerifyEvent) => void;
  actor?: string;
  /**
   * Aborted: no further dataset is verified, and the one in progress is reported
   * interrupted and not recorded (it proved nothing, good or bad).
   */
  signal?: AbortSignal;
}

/**
 * Verifies the named datasets, or every dataset with a source Lifeboat backs up. Never
 * throws for a dataset that fails (its result says why); unknown names are a UsageError.
 */
export async function runVerify(
  context: ProtectContext,
  datasets: string[],
  options: VerifyOptions = {},
): Promise<VerifyResult[]> {
  const subset = options.readDataSubset ?? '5%';
  const emit = options.onEvent ?? (() => {});
  const ids =
    datasets.length > 0
      ? datasets
      : Object.entries(context.plan.datasets ?? {})
          .filter(([, d]) => isProtectable(d.source))
          .map(([id]) => id);
  // Unknown or source-less names fail before any work; a secret that cannot be resolved
  // fails that dataset's verification only (its result says why).
  for (const id of ids) {
    if (!isProtectable(context.dataset(id).source)) {
      throw new UsageError(`dataset '${id}' has no source Lifeboat backs up, so there is nothing to verify`, {
        hint: `verify datasets whose source is ${protectableKindList()}`,
      });
    }
  }
  const checks = new Map<string, Promise<VerifyResult['resticCheck']>>();
  const repositoryCheck = (repository: string) => {
    let check = checks.get(repository);
    if (!check) {
      check = checkRepository(context, repository, subset, emit);
      checks.set(repository, check);
    }
    return check;
  };
  const results: VerifyResult[] = [];
  for (const id of ids) {
    if (options.signal?.aborted) break;
    const { result, recordId } = await verifyDataset(context, id, repositoryCheck, emit, options.signal);
    await pausePoint('verify:proven');
    if (options.signal?.aborted) {
      const interrupted = { ...result, ok: false, error: 'interrupted before the verification was recorded' };
      emit({ type: 'dataset-done', result: interrupted });
      results.push(interrupted);
      break;
    }
    const state = await context.state();
    const { dataset: _d, ...details } = result;
    await state.recordVerification({
      snapshotId: recordId,
      dataset: id,
      startedAt: result.verifiedAt,
      ok: result.ok,
      details: details as unknown as Record<string, unknown>,
      error: result.error ?? null,
    });
    await state.appendAudit({
      actor: options.actor ?? defaultActor(),
      action: 'verify.run',
      target: `dataset:${id}`,
      outcome: result.ok ? 'ok' : 'failed',
      details: {
        snapshot: result.snapshotId,
        restoreSeconds: result.restoreSeconds,
        ...(result.error ? { error: result.error } : {}),
      },
    });
    emit({ type: 'dataset-done', result });
    results.push(result);
  }
  return results;
}

/** A result before anything was proven: each step fills in what it showed. */
async function verifyDataset(
  context: ProtectContext,
  id: string,
  repositoryCheck: (repository: string) => Promise<VerifyResult['resticCheck']>,
  emit: (event: VerifyEvent) => void,
  signal: AbortSignal | undefined,
): Promise<{ result: VerifyResult; recordId: string | null }> {
  const { protectionMethod } = await import('./methods/index.js');
  const ownProof = protectionMethod(context.handle(id)).verify;
  if (ownProof) return ownProof(context, id, emit);
  let recordId: string | null = null;
  const result = await verifyPoint(context, id, repositoryCheck, emit, (found) => (recordId = found), signal);
  return { result, recordId };
}

async function verifyPoint(
  context: ProtectContext,
  id: string,
  repositoryCheck: (repository: string) => Promise<VerifyResult['resticCheck']>,
  emit: (event: VerifyEvent) => void,
  found: (recordId: string) => void,
  signal: AbortSignal | undefined,
): Promise<VerifyResult> {
  const empty = notVerified(id, context.repositoryOf(id));

  let point: RecoveryPoint;
  try {
    point = await findRecoveryPoint(context, id, { includeFailedVerifications: true });
  } catch (error) {
    return { ...empty, error: message(error) };
  }
  found(point.recordId);
  emit({ type: 'dataset-start', dataset: id, snapshotId: point.snapshotId });
  const base = {
    ...empty,
    snapshotId: point.snapshotId,
    backupStartedAt: point.startedAt,
    repository: point.repository,
  };

  const resticCheck = await repositoryCheck(point.repository);
  const instance = await startInstance(point.sourceType).catch((error: unknown) => error as Error);
  if (instance instanceof Error)
    return {
      ...base,
      resticCheck,
      inconclusive: true,
      error: `the throwaway instance did not start: ${message(instance)}`,
    };
  emit({ type: 'instance-started', dataset: id, instance: instance.describe, seconds: instance.seconds });
  await pausePoint('verify:instance-started');
  try {
    if (signal?.aborted)
      throw new InterruptedError('interrupted before the restore into the throwaway instance');
    // Pinned to the point found above, so a backup finishing meanwhile does not change it.
    const plan = await planRestore(context, { dataset: id, snapshot: point.snapshotId, to: instance.to });
    const restored = await applyRestore(context, plan, {
      // The instance is ours and fresh: its bootstrap `postgres` database may be replaced.
      force: true,
      fingerprint: 'strict',
      audit: null,
      onEvent: (event) => {
        emit({ type: 'restore', dataset: id, event });
        if (event.type === 'unit-done') pausePointSync('verify:restoring');
      },
    });
    const problems = [
      ...(restored.error ? [restored.error] : []),
      ...(resticCheck.ok
        ? []
        : [`restic check of repository '${point.repository}' failed: ${resticCheck.output ?? ''}`.trim()]),
    ];
    return {
      ...base,
      ok: restored.ok && resticCheck.ok,
      restoreSeconds: restored.restoreSeconds,
      instanceSeconds: instance.seconds,
      fingerprint: restored.fingerprint,
      checks: restored.checks,
      resticCheck,
      ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
    };
  } catch (error) {
    // The error's own words, without a hint about the target: the instance is thrown away.
    const problems = [
      coerceError(error).message,
      ...(resticCheck.ok ? [] : [`restic check failed: ${resticCheck.output ?? ''}`]),
    ];
    return {
      ...base,
      instanceSeconds: instance.seconds,
      resticCheck,
      ...(error instanceof EnvironmentError ? { inconclusive: true } : {}),
      error: problems.join('; '),
    };
  } finally {
    await instance.stop();
  }
}

interface ThrowawayTarget extends Throwaway {
  seconds: number;
}

/**
 * A fresh, empty place of the right kind: the kind's throwaway server, or a temporary
 * directory; `stop` removes it, however the verification ended.
 */
async function startInstance(sourceType: string): Promise<ThrowawayTarget> {
  const started = Date.now();
  const store = findStore(sourceType);
  const instance = store?.throwaway ? await store.throwaway() : temporaryDirectory();
  return { ...instance, seconds: (Date.now() - started) / 1000 };
}

/**
 * Files and command output land in the directory; a Redis RDB is written there and proven on
 * a throwaway redis-server loaded from it.
 */
function temporaryDirectory(): Throwaway {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-verify-'));
  const to = join(dir, 'restore');
  return { to, describe: `directory ${to}`, stop: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function checkRepository(
  context: ProtectContext,
  id: string,
  readDataSubset: string,
  emit: (event: VerifyEvent) => void,
): Promise<VerifyResult['resticCheck']> {
  const started = Date.now();
  try {
    const repository = await context.repository(id);
    await repository.check({ readDataSubset });
    emit({ type: 'restic-check', repository: id, ok: true, seconds: (Date.now() - started) / 1000 });
    return { ok: true, readDataSubset };
  } catch (error) {
    emit({ type: 'restic-check', repository: id, ok: false, seconds: (Date.now() - started) / 1000 });
    return { ok: false, readDataSubset, output: message(error) };
  }
}

function message(error: unknown): string {
  const e = coerceError(error);
  return e instanceof LifeboatError ? describeError(e) : e.message;
}
