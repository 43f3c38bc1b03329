/**
 * PostgreSQL WAL positions as numbers: LSNs (`16/B374D848`) and segment file names
 * (`000000010000001600000000`), for choosing a backup set and measuring what is not
 * archived yet. BigInt: an LSN is 64 bits.
 */
import { UsageError } from '../../errors.js';

const lsnPattern = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function isLsn(text: string): boolean {
  return lsnPattern.test(text.trim());
}

/** `0/3000060` → 50331744n. Throws UsageError for anything else. */
export function parseLsn(text: string): bigint {
  const match = lsnPattern.exec(text.trim());
  if (!match) {
    throw new UsageError(`'${text}' is not a PostgreSQL LSN`, {
      hint: 'an LSN is two hexadecimal numbers separated by a slash, e.g. 0/3000060 (SELECT pg_current_wal_lsn())',
    });
  }
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * Where the WAL segment named `name` starts, for a segment size in bytes. Names of `.partial`
 * and `.backup` files count as their segment; a timeline `.history` file names none.
 */
export function segmentStart(name: string, segmentBytes: number): bigint | undefined {
  const match = /^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})(\..*)?$/i.exec(name);
  if (!match) return undefined;
  const segmentsPerId = 0x100000000n / BigInt(segmentBytes);
  const segno = BigInt(`0x${match[1]}`) * segmentsPerId + BigInt(`0x${match[2]}`);
  return segno * BigInt(segmentBytes);
}
