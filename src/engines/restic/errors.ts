/**
 * What a failed restic run means, read from its exit code and stderr. restic 0.14 exits 1
 * for nearly everything, so the text decides there; 0.17 adds exit codes 10, 11 and 12.
 */
import { EnvironmentError, OperationError, type LifeboatError } from '../../errors.js';

export type ResticFailureKind =
  | 'wrong-password'
  | 'repository-missing'
  | 'locked'
  | 'no-space'
  | 'unreachable'
  | 'already-initialized'
  | 'other';

// Network and TLS failures come first: restic 0.14 follows them with "Is there a repository
// at the following location?" as well, which would otherwise read as a missing repository.
const UNREACHABLE: RegExp[] = [
  /connection refused/i,
  /no such host/i,
  /i\/o timeout/i,
  /network is unreachable/i,
  /no route to host/i,
  /connection reset by peer/i,
  /context deadline exceeded/i,
  /x509:/i,
  /tls:/i,
  /certificate (is not valid|signed by unknown authority|has expired)/i,
  /unable to start the sftp session/i,
  /ssh: connect to host/i,
];
const TLS = /x509:|tls:|certificate/i;

const WRONG_PASSWORD = /wrong password or no key found/i;
// A full disk comes before a lock: restic that cannot write its lock file says "unable to
// create lock in backend" too, and `restic unlock` would not help.
const NO_SPACE = /no space left on device|disk quota exceeded/i;
const LOCKED = /repository is already locked|unable to create lock in backend/i;
const ALREADY_INITIALIZED = /config file already exists|already initialized/i;
const MISSING: RegExp[] = [
  /Is there a repository at the following location\?/i,
  /unable to open config file/i,
  /repository does not exist/i,
  /The specified bucket does not exist/i,
];

/** The kind of failure; `exitCode` 0 is never a failure and is not expected here. */
export function classifyResticFailure(exitCode: number | null, stderr: string): ResticFailureKind {
  if (exitCode === 12 || WRONG_PASSWORD.test(stderr)) return 'wrong-password';
  if (NO_SPACE.test(stderr)) return 'no-space';
  if (exitCode === 11 || LOCKED.test(stderr)) return 'locked';
  if (ALREADY_INITIALIZED.test(stderr)) return 'already-initialized';
  if (UNREACHABLE.some((re) => re.test(stderr))) return 'unreachable';
  if (exitCode === 10 || MISSING.some((re) => re.test(stderr))) return 'repository-missing';
  return 'other';
}

/** The lines of stderr worth showing: restic's `Fatal:` line if any, else the last non-empty line. */
export function keyLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => l.startsWith('Fatal:')) ?? lines.at(-1) ?? '';
}

/**
 * The line that says which write found the disk full, and the path it wrote, found in the raw
 * text (a secret equal to a word of it cannot hide it) and shown from the redacted one.
 */
export function noSpaceLine(raw: string, shown: string): { line: string; path: string | undefined } {
  const rawLines = raw.split('\n');
  const index = rawLines.findIndex((l) => NO_SPACE.test(l));
  const line = (shown.split('\n')[index] ?? '').trim();
  const path = /(?:write|open|mkdir|create|rename|sync|truncate|symlink|link) (\/[^:]*): /.exec(line)?.[1];
  return { line, path };
}

/** Who holds a restic lock, as restic 0.14 reports it: "locked by PID 13588 on vm by root". */
export function lockHolder(stderr: string): string | undefined {
  return /locked (?:exclusively )?by (PID \d+ on \S+ by [^\n(]+)/i.exec(stderr)?.[1]?.trim();
}

export interface ResticFailure {
  /** What Lifeboat asked restic to do, e.g. `backup`, `snapshots`. */
  operation: string;
  /** The repository URL with credentials already redacted. */
  repository: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stderr, already redacted: what messages and details show. */
  stderr: string;
  /**
   * stderr as restic printed it, to classify only (never shown): a secret that is also a word
   * of restic's messages ("repository", "password") would otherwise mask the words classifying
   * looks for. Default: `stderr`.
   */
  rawStderr?: string;
}

/** The Lifeboat error that tells the user what went wrong with a restic run and what to do. */
export function resticError(failure: ResticFailure): LifeboatError {
  const { operation, repository, exitCode, signal, stderr } = failure;
  const raw = failure.rawStderr ?? stderr;
  const kind = signal ? 'other' : classifyResticFailure(exitCode, raw);
  const details = { repository, operation, reason: kind, exitCode, signal, stderr: stderr.slice(-2000) };
  const line = keyLine(stderr);
  switch (kind) {
    case 'wrong-password':
      return new EnvironmentError(`wrong password for restic repository ${repository}`, {
        details,
        hint: 'restic found no key that opens the repository with this password: check the password (or password file) the plan points at',
      });
    case 'repository-missing':
      return new EnvironmentError(`there is no restic repository at ${repository}`, {
        details,
        hint: 'check the repository URL, or initialize the repository first (restic init)',
      });
    case 'locked': {
      const holder = lockHolder(stderr);
      return new EnvironmentError(
        `restic repository ${repository} is locked${holder ? ` by ${holder}` : ''} by another restic process`,
        {
          details: { ...details, holder },
          hint:
            'wait for the other restic run to finish and retry. Lifeboat already removed locks left by crashed runs on this host; ' +
            `if you are sure no restic process uses the repository anywhere, run: restic -r ${repository} unlock`,
        },
      );
    }
    case 'no-space': {
      const { line: full, path } = noSpaceLine(raw, stderr);
      const where = path ?? repository;
      return new EnvironmentError(
        `no space left on device: restic ${operation} could not write ${where}${full && !path ? ` (${full})` : ''}`,
        {
          details: { ...details, path: where },
          hint:
            `free space on the file system that holds ${where} (df -h shows how full it is), ` +
            'or point the work at a larger one, then retry; a backup cut short by a full disk completed no recovery point',
        },
      );
    }
    case 'unreachable':
      return new EnvironmentError(`cannot reach restic repository ${repository}: ${line}`, {
        details,
        hint: TLS.test(stderr)
          ? 'the TLS certificate of the repository server is not trusted: give the repository a cacert file that signs it'
          : 'check that the repository server is running and that its host name and port are right and reachable from here',
      });
    case 'already-initialized':
    case 'other': {
      const how = signal ? `was killed by ${signal}` : `failed (exit ${exitCode})`;
      return new OperationError(`restic ${operation} ${how} on ${repository}${line ? `: ${line}` : ''}`, {
        details,
      });
    }
  }
}
