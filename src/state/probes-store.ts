/**
 * Probe results, kept compactly: raw checks for a day, then per-minute rollups (two days) and
 * per-hour rollups (400 days, beyond any availability window asked of them). Each rollup
 * carries a latency histogram on fixed log-spaced bounds: histograms add up, percentiles do
 * not, so the p95 of a week is estimated from the week's merged histogram rather than from
 * averaging hourly p95s. Results are written in batches, one transaction per batch.
 */
import type { Driver, SqlExecutor, SqlValue } from './driver.js';

export interface ProbeResultRow {
  readonly probe: string;
  /** Epoch ms when the check started. */
  readonly at: number;
  readonly ok: boolean;
  readonly latencyMs: number;
  /** Kept for failures only: a success's message says nothing new. */
  readonly message?: string | undefined;
}

/** Sums over a window, for one probe or merged over several. */
export interface ProbeSummary {
  readonly checks: number;
  readonly failures: number;
  readonly latencySumMs: number;
  /** Estimated from the histogram (exact to its bucket); undefined without checks. */
  readonly p95Ms: number | undefined;
  /** Counts per HISTOGRAM_BOUNDS_MS bucket. */
  readonly histogram: readonly number[];
}

export interface ProbeRetention {
  /** Default: one day. */
  rawMs?: number;
  /** Default: two days (a 24-hour window is read from minutes). */
  minuteMs?: number;
  /** Default: 400 days. */
  hourMs?: number;
}

export interface ProbesStore {
  /** Inserts a batch in one transaction. */
  recordResults(results: readonly ProbeResultRow[]): Promise<void>;
  /**
   * Rolls finished minutes (older than `settleMs`, default 2 minutes, so that a batch still in
   * a writer's buffer is not missed) into minute rows and finished hours into hour rows, then
   * deletes what retention no longer keeps. Safe to run often and from one process at a time.
   */
  compact(nowMs?: number, options?: { settleMs?: number; retention?: ProbeRetention }): Promise<void>;
  /** Per probe over [fromMs, toMs): hours, then minutes, then raw rows where coarser ones end. */
  summaries(probes: readonly string[], fromMs: number, toMs: number): Promise<Map<string, ProbeSummary>>;
  /** Newest first. Default limit: 100. */
  recentResults(probe: string, limit?: number): Promise<ProbeResultRow[]>;
}

/** Upper bounds of the latency buckets, in ms; the last bucket is everything above. */
export const HISTOGRAM_BOUNDS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000,
] as const;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const DEFAULT_RETENTION = { rawMs: DAY, minuteMs: 2 * DAY, hourMs: 400 * DAY };
/** Rows per INSERT statement: well under SQLite's and PostgreSQL's parameter limits. */
const ROWS_PER_STATEMENT = 200;

export function createProbesStore(driver: Driver): ProbesStore {
  return {
    async recordResults(results) {
      if (results.length === 0) return;
      await driver.transaction(async (tx) => {
        await insertRows(
          tx,
          'probe_results (probe, at, ok, latency_ms, message)',
          results.map((r) => [
            r.probe,
            r.at,
            r.ok ? 1 : 0,
            Math.round(r.latencyMs),
            r.ok ? null : (r.message ?? null),
          ]),
        );
      });
    },

    async compact(nowMs = Date.now(), options = {}) {
      const settleMs = options.settleMs ?? 2 * MINUTE;
      const retention = { ...DEFAULT_RETENTION, ...options.retention };
      const minutesUntil = await rollMinutes(driver, floorTo(nowMs - settleMs, MINUTE));
      const hoursUntil = await rollHours(driver, floorTo(minutesUntil, HOUR));
      // Never delete what has not been rolled up yet.
      await driver.run('DELETE FROM probe_results WHERE at < ?', [
        Math.min(nowMs - retention.rawMs, minutesUntil),
      ]);
      await driver.run('DELETE FROM probe_rollups WHERE span_ms = ? AND start_at < ?', [
        MINUTE,
        Math.min(nowMs - retention.minuteMs, hoursUntil),
      ]);
      await driver.run('DELETE FROM probe_rollups WHERE span_ms = ? AND start_at < ?', [
        HOUR,
        nowMs - retention.hourMs,
      ]);
    },

    async summaries(probes, fromMs, toMs) {
      const out = new Map<string, Accumulator>(probes.map((p) => [p, new Accumulator()]));
      if (probes.length === 0 || toMs <= fromMs) return finish(out);
      const minuteMark = await mark(driver, MINUTE);
      const hourMark = await mark(driver, HOUR);
      // A window longer than the minutes kept starts on hour rows; a shorter one on minutes.
      let from = fromMs;
      if (toMs - fromMs > DEFAULT_RETENTION.minuteMs && hourMark !== undefined) {
        await addRollups(driver, out, HOUR, ceilTo(from, HOUR), Math.min(toMs, hourMark));
        from = Math.max(from, hourMark);
      }
      if (minuteMark !== undefined) {
        await addRollups(driver, out, MINUTE, ceilTo(from, MINUTE), Math.min(toMs, minuteMark));
        from = Math.max(from, minuteMark);
      }
      if (from < toMs) {
        const rows = await driver.query(
          `SELECT probe, ok, latency_ms FROM probe_results WHERE at >= ? AND at < ? AND probe IN (${placeholders(probes.length)})`,
          [from, toMs, ...probes],
        );
        for (const row of rows)
          out.get(String(row.probe))?.addCheck(Number(row.ok) === 1, Number(row.latency_ms));
      }
      return finish(out);
    },

    async recentResults(probe, limit = 100) {
      const rows = await driver.query(
        'SELECT probe, at, ok, latency_ms, message FROM probe_results WHERE probe = ? ORDER BY at DESC LIMIT ?',
        [probe, limit],
      );
      return rows.map((row) => ({
        probe: String(row.probe),
        at: Number(row.at),
        ok: Number(row.ok) === 1,
        latencyMs: Number(row.latency_ms),
        message: row.message === null ? undefined : String(row.message),
      }));
    },
  };
}

/** Merges summaries (several probes of one service) into one. */
export function mergeSummaries(summaries: Iterable<ProbeSummary>): ProbeSummary {
  const total = new Accumulator();
  for (const s of summaries) total.addSummary(s.checks, s.failures, s.latencySumMs, s.histogram);
  return total.summary();
}

class Accumulator {
  checks = 0;
  failures = 0;
  latencySumMs = 0;
  readonly histogram: number[] = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);

  addCheck(ok: boolean, latencyMs: number): void {
    this.checks += 1;
    if (!ok) this.failures += 1;
    this.latencySumMs += latencyMs;
    this.histogram[bucketOf(latencyMs)]! += 1;
  }

  addSummary(checks: number, failures: number, latencySumMs: number, histogram: readonly number[]): void {
    this.checks += checks;
    this.failures += failures;
    this.latencySumMs += latencySumMs;
    histogram.forEach((count, i) => (this.histogram[i]! += count));
  }

  summary(): ProbeSummary {
    return {
      checks: this.checks,
      failures: this.failures,
      latencySumMs: this.latencySumMs,
      p95Ms: percentile(this.histogram, 0.95),
      histogram: [...this.histogram],
    };
  }
}

function finish(out: Map<string, Accumulator>): Map<string, ProbeSummary> {
  return new Map([...out].map(([probe, acc]) => [probe, acc.summary()]));
}

function bucketOf(latencyMs: number): number {
  const i = HISTOGRAM_BOUNDS_MS.findIndex((bound) => latencyMs <= bound);
  return i === -1 ? HISTOGRAM_BOUNDS_MS.length : i;
}

/**
 * The q-quantile, interpolated linearly inside the bucket that holds it: exact to the bucket's
 * width. Above the last bound, the estimate is that bound (we know no more).
 */
export function percentile(histogram: readonly number[], q: number): number | undefined {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const count = histogram[i] ?? 0;
    if (count > 0 && seen + count >= rank) {
      const low = i === 0 ? 0 : (HISTOGRAM_BOUNDS_MS[i - 1] ?? 0);
      const high = HISTOGRAM_BOUNDS_MS[i] ?? low;
      return Math.round((low + ((high - low) * (rank - seen)) / count) * 10) / 10;
    }
    seen += count;
  }
  return HISTOGRAM_BOUNDS_MS[HISTOGRAM_BOUNDS_MS.length - 1];
}

/** Sparse text, `bucket:count` pairs: most rows have one or two buckets in use. */
function encodeHistogram(histogram: readonly number[]): string {
  return histogram.flatMap((count, i) => (count > 0 ? [`${i}:${count}`] : [])).join(',');
}

function decodeHistogram(text: string): number[] {
  const histogram = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  for (const pair of text.split(',')) {
    if (!pair) continue;
    const [i, count] = pair.split(':').map(Number);
    if (i !== undefined && count !== undefined && i < histogram.length) histogram[i]! += count;
  }
  return histogram;
}

async function mark(tx: SqlExecutor, spanMs: number): Promise<number | undefined> {
  const row = (await tx.query('SELECT rolled_until FROM probe_rollup_marks WHERE span_ms = ?', [spanMs]))[0];
  return row === undefined ? undefined : Number(row.rolled_until);
}

/** Rolls raw rows into minutes up to `until`, an hour of rows per transaction. Returns the new mark. */
async function rollMinutes(driver: Driver, until: number): Promise<number> {
  let from = await mark(driver, MINUTE);
  if (from === undefined) {
    const first = (await driver.query('SELECT min(at) AS at FROM probe_results'))[0]?.at;
    if (first === null || first === undefined) return until;
    from = floorTo(Number(first), MINUTE);
  }
  while (from < until) {
    const to = Math.min(until, from + HOUR);
    const start = from;
    await driver.transaction(async (tx) => {
      const rows = await tx.query(
        'SELECT probe, at, ok, latency_ms FROM probe_results WHERE at >= ? AND at < ?',
        [start, to],
      );
      const buckets = new Map<string, { probe: string; startAt: number; acc: Accumulator }>();
      for (const row of rows) {
        const startAt = floorTo(Number(row.at), MINUTE);
        const key = `${String(row.probe)}\n${startAt}`;
        let bucket = buckets.get(key);
        if (!bucket)
          buckets.set(key, (bucket = { probe: String(row.probe), startAt, acc: new Accumulator() }));
        bucket.acc.addCheck(Number(row.ok) === 1, Number(row.latency_ms));
      }
      await writeRollups(tx, MINUTE, [...buckets.values()]);
      await setMark(tx, MINUTE, to);
    });
    from = to;
  }
  return until;
}

/** Rolls minute rows into hours up to `until` (a whole hour), a day per transaction. */
async function rollHours(driver: Driver, until: number): Promise<number> {
  let from = await mark(driver, HOUR);
  if (from === undefined) {
    const first = (
      await driver.query('SELECT min(start_at) AS at FROM probe_rollups WHERE span_ms = ?', [MINUTE])
    )[0]?.at;
    if (first === null || first === undefined) return until;
    from = floorTo(Number(first), HOUR);
  }
  while (from < until) {
    const to = Math.min(until, from + DAY);
    const start = from;
    await driver.transaction(async (tx) => {
      const rows = await tx.query(
        'SELECT probe, start_at, checks, failures, latency_sum_ms, histogram FROM probe_rollups WHERE span_ms = ? AND start_at >= ? AND start_at < ?',
        [MINUTE, start, to],
      );
      const buckets = new Map<string, { probe: string; startAt: number; acc: Accumulator }>();
      for (const row of rows) {
        const startAt = floorTo(Number(row.start_at), HOUR);
        const key = `${String(row.probe)}\n${startAt}`;
        let bucket = buckets.get(key);
        if (!bucket)
          buckets.set(key, (bucket = { probe: String(row.probe), startAt, acc: new Accumulator() }));
        bucket.acc.addSummary(
          Number(row.checks),
          Number(row.failures),
          Number(row.latency_sum_ms),
          decodeHistogram(String(row.histogram)),
        );
      }
      await writeRollups(tx, HOUR, [...buckets.values()]);
      await setMark(tx, HOUR, to);
    });
    from = to;
  }
  return until;
}

async function writeRollups(
  tx: SqlExecutor,
  spanMs: number,
  buckets: readonly { probe: string; startAt: number; acc: Accumulator }[],
): Promise<void> {
  await insertRows(
    tx,
    'probe_rollups (probe, span_ms, start_at, checks, failures, latency_sum_ms, p95_ms, histogram)',
    buckets.map(({ probe, startAt, acc }) => [
      probe,
      spanMs,
      startAt,
      acc.checks,
      acc.failures,
      acc.latencySumMs,
      Math.round(percentile(acc.histogram, 0.95) ?? 0),
      encodeHistogram(acc.histogram),
    ]),
  );
}

async function setMark(tx: SqlExecutor, spanMs: number, until: number): Promise<void> {
  await tx.run(
    'INSERT INTO probe_rollup_marks (span_ms, rolled_until) VALUES (?, ?) ON CONFLICT (span_ms) DO UPDATE SET rolled_until = excluded.rolled_until',
    [spanMs, until],
  );
}

async function addRollups(
  tx: SqlExecutor,
  out: Map<string, Accumulator>,
  spanMs: number,
  fromMs: number,
  toMs: number,
): Promise<void> {
  if (toMs <= fromMs) return;
  const probes = [...out.keys()];
  const rows = await tx.query(
    `SELECT probe, checks, failures, latency_sum_ms, histogram FROM probe_rollups
     WHERE span_ms = ? AND start_at >= ? AND start_at < ? AND probe IN (${placeholders(probes.length)})`,
    [spanMs, fromMs, toMs, ...probes],
  );
  for (const row of rows)
    out
      .get(String(row.probe))
      ?.addSummary(
        Number(row.checks),
        Number(row.failures),
        Number(row.latency_sum_ms),
        decodeHistogram(String(row.histogram)),
      );
}

async function insertRows(tx: SqlExecutor, into: string, rows: readonly SqlValue[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const row = `(${placeholders(chunk[0]?.length ?? 0)})`;
    await tx.run(`INSERT INTO ${into} VALUES ${chunk.map(() => row).join(', ')}`, chunk.flat());
  }
}

function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ');
}

function floorTo(ms: number, span: number): number {
  return Math.floor(ms / span) * span;
}

function ceilTo(ms: number, span: number): number {
  return Math.ceil(ms / span) * span;
}
