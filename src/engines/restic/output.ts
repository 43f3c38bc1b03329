/**
 * restic's JSON output, typed. Field names follow restic; parsers tolerate missing fields
 * (restic omits zero values) and unknown message types (new ones appear over versions).
 */

export interface Snapshot {
  /** Full 64-hex id. */
  id: string;
  shortId: string;
  /** RFC 3339, as restic wrote it. */
  time: string;
  tags: string[];
  paths: string[];
  hostname: string;
  username?: string;
  /** The id this snapshot had before `restic tag` rewrote it. */
  original?: string;
}

interface RawSnapshot {
  id: string;
  short_id?: string;
  time: string;
  tags?: string[] | null;
  paths?: string[] | null;
  hostname?: string;
  username?: string;
  original?: string;
}

function toSnapshot(raw: RawSnapshot): Snapshot {
  return {
    id: raw.id,
    shortId: raw.short_id ?? raw.id.slice(0, 8),
    time: raw.time,
    tags: raw.tags ?? [],
    paths: raw.paths ?? [],
    hostname: raw.hostname ?? '',
    ...(raw.username ? { username: raw.username } : {}),
    ...(raw.original ? { original: raw.original } : {}),
  };
}

/**
 * The first line of `text` that is a JSON array. `forget --json --prune` prints prune's
 * plain-text report after the JSON document, so the document is found by line.
 */
function jsonArrayLine(text: string): unknown[] {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown[];
  }
  if (text.trim() === '') return [];
  throw new Error(`restic printed no JSON list: ${text.slice(0, 200)}`);
}

/** `restic snapshots --json`, oldest first. */
export function parseSnapshots(text: string): Snapshot[] {
  return (jsonArrayLine(text) as RawSnapshot[])
    .map(toSnapshot)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

export interface ForgetResult {
  kept: Snapshot[];
  removed: Snapshot[];
}

/** `restic forget --json`: one group per host/paths/tags grouping. */
export function parseForget(text: string): ForgetResult {
  const groups = jsonArrayLine(text) as { keep?: RawSnapshot[] | null; remove?: RawSnapshot[] | null }[];
  return {
    kept: groups.flatMap((g) => g.keep ?? []).map(toSnapshot),
    removed: groups.flatMap((g) => g.remove ?? []).map(toSnapshot),
  };
}

export interface BackupProgress {
  bytesDone: number;
  /** Unknown (0) when reading from stdin. */
  totalBytes: number;
  /** 0..1; stays 0 when reading from stdin, whose size restic cannot know. */
  percentDone: number;
  secondsElapsed: number;
}

export interface BackupSummary {
  /** As restic printed it: short on 0.14. */
  snapshotId?: string;
  dataAdded: number;
  totalBytesProcessed: number;
  totalDurationSeconds: number;
}

export type BackupMessage =
  | { type: 'status'; progress: BackupProgress }
  | { type: 'summary'; summary: BackupSummary }
  | { type: 'other' };

/** One line of `restic backup --json`. Lines that are not JSON (warnings) come back as `other`. */
export function parseBackupLine(line: string): BackupMessage {
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { type: 'other' };
  }
  const num = (key: string) => (typeof message[key] === 'number' ? (message[key] as number) : 0);
  if (message.message_type === 'status') {
    return {
      type: 'status',
      progress: {
        bytesDone: num('bytes_done'),
        totalBytes: num('total_bytes'),
        percentDone: num('percent_done'),
        secondsElapsed: num('seconds_elapsed'),
      },
    };
  }
  if (message.message_type === 'summary') {
    return {
      type: 'summary',
      summary: {
        ...(typeof message.snapshot_id === 'string' ? { snapshotId: message.snapshot_id } : {}),
        dataAdded: num('data_added'),
        totalBytesProcessed: num('total_bytes_processed'),
        totalDurationSeconds: num('total_duration'),
      },
    };
  }
  return { type: 'other' };
}

export interface RestoreProgress {
  bytesRestored: number;
  totalBytes: number;
  percentDone: number;
  secondsElapsed: number;
}

/** One status line of `restic restore --json` (restic 0.16+); undefined for anything else. */
export function parseRestoreLine(line: string): RestoreProgress | undefined {
  try {
    const m = JSON.parse(line) as Record<string, unknown>;
    if (m.message_type !== 'status') return undefined;
    const num = (key: string) => (typeof m[key] === 'number' ? (m[key] as number) : 0);
    return {
      bytesRestored: num('bytes_restored'),
      totalBytes: num('total_bytes'),
      percentDone: num('percent_done'),
      secondsElapsed: num('seconds_elapsed'),
    };
  } catch {
    return undefined;
  }
}

export interface RepositoryStats {
  /** Bytes the repository stores (after deduplication, and compression where used). */
  totalSize: number;
  totalUncompressedSize?: number;
  blobCount: number;
  snapshotsCount: number;
}

/** `restic stats --json --mode raw-data`. */
export function parseStats(text: string): RepositoryStats {
  const m = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as Record<string, number | undefined>;
  return {
    totalSize: m.total_size ?? 0,
    ...(m.total_uncompressed_size !== undefined ? { totalUncompressedSize: m.total_uncompressed_size } : {}),
    blobCount: m.total_blob_count ?? 0,
    snapshotsCount: m.snapshots_count ?? 0,
  };
}
