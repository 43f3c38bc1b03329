/**
 * The closed set of errors Lifeboat raises on purpose. Each carries what the user must do
 * (`hint`) and maps to one exit code at the CLI boundary; anything else is a bug.
 */

export const ExitCode = {
  ok: 0,
  /** The work ran and found a problem: plan errors, a failed verification, a breached RPO. */
  failed: 1,
  /** The command line or an input file cannot be used as given. */
  usage: 2,
  /** Something outside Lifeboat is missing or unreachable: a tool, a server, a repository. */
  environment: 3,
  /** Lifeboat refused to act because acting could lose data (an overwrite without confirmation). */
  refused: 4,
  /** A bug in Lifeboat. */
  internal: 70,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

// `| undefined`: callers pass what they have, and an undefined hint or details means none.
export interface LifeboatErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /** Machine-readable details for `--json` output. Never secrets. */
  details?: Record<string, unknown> | undefined;
}

export abstract class LifeboatError extends Error {
  abstract readonly exitCode: ExitCode;
  abstract readonly kind: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: LifeboatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.kind,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Bad command line, unknown name, unreadable or unparsable input. */
export class UsageError extends LifeboatError {
  readonly exitCode = ExitCode.usage;
  readonly kind = 'usage';
}

/** The plan exists but does not validate; findings were printed already. */
export class PlanInvalidError extends LifeboatError {
  readonly exitCode = ExitCode.failed;
  readonly kind = 'plan-invalid';
}

/** A tool, server or repository that Lifeboat needs is missing or unreachable. */
export class EnvironmentError extends LifeboatError {
  readonly exitCode = ExitCode.environment;
  readonly kind = 'environment';
}

/** An operation ran and failed: a backup, a restore, a verification, a check. */
export class OperationError extends LifeboatError {
  readonly exitCode = ExitCode.failed;
  readonly kind = 'operation-failed';
}

/** Acting could lose data and the user has not confirmed it. */
export class RefusedError extends LifeboatError {
  readonly exitCode = ExitCode.refused;
  readonly kind = 'refused';
}

/** SIGINT or SIGTERM stopped the work before it was done. */
export class InterruptedError extends LifeboatError {
  readonly exitCode = ExitCode.interrupted;
  readonly kind = 'interrupted';
}

/**
 * Turns whatever a `catch` caught into an Error, so that the block can add context and rethrow.
 * An Error comes back as it is, so that a LifeboatError keeps its exit code and hint; anything
 * else is wrapped with the value itself as `cause`, so that nothing it carried is lost. It never
 * throws: it runs inside catch blocks, where a second exception would replace the first.
 */
export function coerceError(value: unknown): Error {
  if (isError(value)) return value;
  return new Error(describeThrown(value), { cause: value });
}

function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    // A Proxy whose getPrototypeOf trap throws.
    return false;
  }
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    // undefined for undefined, functions and symbols; those fall through to String.
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // Getters that throw, cycles, BigInt values: String below may still say something.
  }
  try {
    return String(value);
  } catch {
    return `a thrown ${typeof value} that cannot be described`;
  }
}

/** One line for a person: the message, and the hint when the error carries one. */
export function describeError(error: Error): string {
  if (error instanceof LifeboatError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  return error.message;
}
