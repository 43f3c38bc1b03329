/**
 * A point-in-time recovery target from the command line (`--at`, `--lsn`,
 * `--restore-point`, or none for the latest), checked and written the way PostgreSQL's
 * recovery_target_* settings read it. Pure.
 */
import { UsageError } from '../../errors.js';
import { formatLsn, parseLsn } from './lsn.js';

export type RecoveryTarget =
  | {
      type: 'time';
      /** `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, as written into recovery_target_time. */ text: string;
      time: Date;
    }
  | { type: 'lsn'; lsn: string }
  | { type: 'name'; name: string }
  /** One backup set, recovered only to the point where it is consistent (`--snapshot ID`). */
  | { type: 'immediate'; set: string }
  | { type: 'default' };

export interface TargetInput {
  at?: string | undefined;
  lsn?: string | undefined;
  restorePoint?: string | undefined;
}

/** PostgreSQL's restore point names are at most 63 bytes (MAXFNAMELEN - 1). */
export const MAX_RESTORE_POINT_BYTES = 63;

export function parseRecoveryTarget(input: TargetInput): RecoveryTarget {
  const given = (['at', 'lsn', 'restorePoint'] as const).filter((k) => input[k] !== undefined);
  if (given.length > 1) {
    throw new UsageError(`give one recovery target, not ${given.map(flagName).join(' and ')}`, {
      hint: '--at TIME, --lsn LSN or --restore-point NAME; none restores to the end of the archived WAL',
    });
  }
  if (input.at !== undefined) {
    const { text, time } = parseRecoveryTime(input.at);
    return { type: 'time', text, time };
  }
  if (input.lsn !== undefined) return { type: 'lsn', lsn: formatLsn(parseLsn(input.lsn)) };
  if (input.restorePoint !== undefined)
    return { type: 'name', name: checkRestorePointName(input.restorePoint) };
  return { type: 'default' };
}

function flagName(key: 'at' | 'lsn' | 'restorePoint'): string {
  return key === 'restorePoint' ? '--restore-point' : `--${key}`;
}

export function checkRestorePointName(name: string): string {
  if (name.trim() === '' || Buffer.byteLength(name) > MAX_RESTORE_POINT_BYTES) {
    throw new UsageError(`a restore point name is 1 to ${MAX_RESTORE_POINT_BYTES} bytes, not '${name}'`);
  }
  return name;
}

const timePattern =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An ISO 8601 time (`2024-05-01T12:00:00Z`, `2024-05-01 14:00:00.123456+02:00`) in UTC, in
 * the form recovery_target_time reads. A time without a zone is UTC, like the plan's own
 * times: the server's TimeZone setting must not move the target.
 */
export function parseRecoveryTime(input: string): { text: string; time: Date } {
  const match = timePattern.exec(input.trim());
  const bad = () =>
    new UsageError(`'${input}' is not a time Lifeboat can recover to`, {
      hint: 'give an ISO 8601 time such as 2024-05-01T12:00:00Z (UTC when no zone is given)',
    });
  if (!match) throw bad();
  const [, y, mo, d, h, mi, s = '00', fraction, zone] = match;
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes =
      (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * (zone[0] === '-' ? -1 : 1);
  }
  const utcMs =
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes * 60_000;
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  // Date.UTC rolls 2024-02-30 over to March; a date that rolled was not a date.
  if (
    Number.isNaN(utcMs) ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  )
    throw bad();
  const whole = new Date(utcMs).toISOString().slice(0, 19).replace('T', ' ');
  const text = `${whole}${fraction ? `.${fraction}` : ''}+00`;
  const time = new Date(utcMs + (fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0));
  return { text, time };
}

/** The target in words, for messages and the audit log. */
export function describeTarget(target: RecoveryTarget): string {
  switch (target.type) {
    case 'time':
      return `time ${target.text}`;
    case 'lsn':
      return `LSN ${target.lsn}`;
    case 'name':
      return `restore point '${target.name}'`;
    case 'immediate':
      return `the end of backup ${target.set}`;
    case 'default':
      return 'the end of the archived WAL (latest)';
  }
}
