/**
 * What every probe kind implements: one check, bounded by a signal, that never throws for a
 * failing target. A failure is data (ok: false with a message a person can act on); only a
 * mistake in the probe's own configuration is an exception, raised when the probe is built.
 */
import type { Probe as ProbeConfig } from '../plan/schema.js';

export type ProbeKind = ProbeConfig['type'];

/** Kind-specific facts a check measured: status code, role, certificate days, lag... */
export type ProbeDetails = Readonly<Record<string, string | number | boolean | null>>;

export interface ProbeResult {
  readonly ok: boolean;
  /** Wall time of the check, connect included. */
  readonly latencyMs: number;
  /** What was seen (`HTTP 200 in 12 ms`) or what failed, naming the target. */
  readonly message: string;
  readonly details?: ProbeDetails;
}

export interface Probe {
  readonly id: string;
  readonly kind: ProbeKind;
  /** Where it looks, safe to print (no password). */
  readonly target: string;
  /**
   * Runs one check. Resolves with ok: false when the target fails or `signal` aborts (the
   * runner aborts at the probe's timeout); never rejects for the target's sake.
   */
  check(signal: AbortSignal): Promise<ProbeResult>;
}

/** What a probe needs from the plan's surroundings to resolve `env:`/`file:` references. */
export interface ProbeContext {
  /** The plan file's directory: `file:` references are relative to it. */
  readonly planDir: string;
  /** Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Milliseconds since `start`, rounded to a tenth. */
export function elapsed(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 100_000) / 10;
}

/** The reason an aborted check gives: the runner's timeout, or the runner stopping. */
export function abortMessage(signal: AbortSignal, what: string): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError')
    return `${what} timed out (${reason.message})`;
  return `${what} was stopped`;
}

/** The first line of an error's message, for a result (details stay in the error). */
export function failureText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
