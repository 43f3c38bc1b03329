/**
 * Why a backup attempt failed, as the one error to report. The cause comes first: an
 * environment problem restic met (wrong password, lock, network); then a producer that
 * failed on its own (one that Lifeboat stopped, or that died of SIGPIPE, is collateral of
 * restic's end); then restic's own failure.
 */
import { EnvironmentError, OperationError, type LifeboatError } from '../../errors.js';
import { keyLine } from './errors.js';
import type { RunResult } from './run.js';
import type { BackupAttempt } from './stream-backup.js';

export function backupFailure(
  attempt: BackupAttempt,
  repository: string,
  details: Record<string, unknown>,
  /** Classifies restic's run; its `stderr` is the raw text, which it redacts before showing. */
  resticFailure: (result: RunResult) => LifeboatError,
): LifeboatError {
  const { restic, producer } = attempt;
  const resticOk = restic.code === 0 && restic.signal === null;
  const producerOk = producer.code === 0 && producer.signal === null;
  const fromRestic = resticOk
    ? undefined
    : resticFailure({ ...restic, stdout: '', stderr: attempt.resticStderrRaw });
  if (fromRestic instanceof EnvironmentError) return fromRestic;
  const producerCaused = !producerOk && !attempt.producerStopped && producer.signal !== 'SIGPIPE';
  if (fromRestic && !producerCaused)
    return new OperationError(fromRestic.message, { details: { ...fromRestic.details, ...details } });
  if (!producerOk) {
    const how = producer.signal ? `was killed by ${producer.signal}` : `exited with ${producer.code}`;
    const tail = keyLine(attempt.producerStderr);
    return new OperationError(
      `the backup producer ${how}${tail ? `: ${tail}` : ''}; no snapshot was completed`,
      {
        details: { ...details, ...(fromRestic ? { resticError: fromRestic.message } : {}) },
        hint: "the producer's stderr (in details) says why it failed; its partial snapshot was not marked complete",
      },
    );
  }
  return new OperationError(`restic backup on ${repository} reported no snapshot id`, {
    details: { ...details, resticStderr: attempt.resticStderr.slice(-2000) },
  });
}
