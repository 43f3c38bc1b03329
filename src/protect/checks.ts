/**
 * A dataset's `verify.checks`, run against a restored copy after every restore and
 * verification: the proof a fingerprint cannot give (the application's own invariants), and
 * the only proof for data Lifeboat cannot look inside (command datasets).
 *
 * - `sql`: run with the source's own client (psql, mariadb) in the check's `database` (a
 *   database name as backed up, mapped to where it was restored) or the default one; the
 *   first column of the first row is compared with `expect`.
 * - `command`: `sh -c` in the target directory (or the plan's directory for a server), with
 *   LIFEBOAT_TARGET_URL (a server target; for PostgreSQL and MySQL the default database's
 *   url), LIFEBOAT_TARGET_DIR (a directory target) and LIFEBOAT_TARGET_DATABASE set. It must
 *   exit 0; with `expect`, its trimmed standard output is compared too.
 *
 * `expect`: `equals` (a number compares numerically, a boolean accepts t/true/1 and
 * f/false/0, a string exactly), `min`/`max` (numeric, inclusive), `contains` (a substring).
 * All given must hold. A check never throws: a failure is a result with `ok: false`.
 */
import type { Check, Dataset } from '../plan/schema.js';
import { coerceError, LifeboatError } from '../errors.js';
import { findStore } from '../stores/index.js';
import { firstLines, runTool } from '../system/tool.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What `expect` asks for, in words. */
  expected: string;
  /** What the query or command returned (first value / trimmed output, shortened). */
  actual?: string;
  error?: string;
  seconds: number;
}

export interface CheckTarget {
  /** The dataset's source type. */
  type: string;
  /** A server target: the server (any database); may hold a password. */
  url?: string;
  /** PostgreSQL/MySQL: database as backed up → database it was restored into. */
  databases?: Record<string, string>;
  /** PostgreSQL/MySQL: the backed-up name of the database a check without `database` runs in. */
  defaultDatabase?: string;
  /** A directory target. */
  dir?: string;
  /** Where command checks run without a directory target: the plan's directory. */
  cwd: string;
  /** How long one check may run, in ms. Default: 10 minutes. */
  timeoutMs?: number;
}

export async function runChecks(
  dataset: Pick<Dataset, 'verify'>,
  target: CheckTarget,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of dataset.verify?.checks ?? []) results.push(await runCheck(check, target));
  return results;
}

export async function runCheck(check: Check, target: CheckTarget): Promise<CheckResult> {
  const started = Date.now();
  const name =
    check.name ??
    (check.sql
      ? `sql: ${shorten(check.sql)}`
      : check.command
        ? `command: ${shorten(check.command)}`
        : 'check');
  const expected = describeExpectation(check);
  const done = (fields: Omit<CheckResult, 'name' | 'expected' | 'seconds'>): CheckResult => ({
    name,
    expected,
    ...fields,
    seconds: (Date.now() - started) / 1000,
  });
  try {
    if (check.sql !== undefined && check.command !== undefined) {
      return done({ ok: false, error: 'a check has either sql or command, not both' });
    }
    if (check.expect?.status !== undefined) {
      return done({ ok: false, error: '`expect.status` applies to HTTP probes, not to checks' });
    }
    if (check.sql !== undefined) {
      const value = await runSql(check, target);
      const verdict = compare(check, value);
      return done({
        ok: verdict.ok,
        actual: value === null ? '(no value)' : shorten(value),
        ...(verdict.error ? { error: verdict.error } : {}),
      });
    }
    if (check.command !== undefined) {
      const env = commandEnv(check, target);
      const result = await runTool('sh', ['-c', check.command], {
        cwd: target.dir ?? target.cwd,
        env,
        secrets: secretsOf(target.url),
        timeoutMs: target.timeoutMs ?? 600_000,
      });
      const output = result.stdout.trim();
      if (result.code !== 0) {
        const status = result.signal ? `was killed by ${result.signal}` : `exited with ${result.code}`;
        return done({
          ok: false,
          actual: shorten(output),
          error: `the command ${status}: ${firstLines(result.stderr || result.stdout)}`,
        });
      }
      if (!check.expect) return done({ ok: true, actual: shorten(output) });
      const verdict = compare(check, output);
      return done({
        ok: verdict.ok,
        actual: shorten(output),
        ...(verdict.error ? { error: verdict.error } : {}),
      });
    }
    return done({ ok: false, error: 'the check has neither sql nor command' });
  } catch (error) {
    const e = coerceError(error);
    return done({
      ok: false,
      error: e instanceof LifeboatError && e.hint ? `${e.message} (${e.hint})` : e.message,
    });
  }
}

/** The first column of the first row, or null when there is no row or the value is NULL. */
async function runSql(check: Check, target: CheckTarget): Promise<string | null> {
  const sql = findStore(target.type)?.sql;
  if (!sql) {
    throw new Error(
      `sql checks need a PostgreSQL or MySQL dataset; this one is ${target.type} (use a command check)`,
    );
  }
  if (!target.url) throw new Error('the restored copy is not a server');
  return sql.query(target.url, restoredDatabase(check, target), check.sql!);
}

function restoredDatabase(check: Check, target: CheckTarget): string {
  const mapping = target.databases ?? {};
  const source = check.database ?? target.defaultDatabase;
  if (source === undefined) throw new Error('no database was restored to run the query in');
  const restored = mapping[source];
  if (restored === undefined) {
    throw new Error(
      `database ${source} was not restored (restored: ${Object.keys(mapping).join(', ') || 'none'}); the check cannot run`,
    );
  }
  return restored;
}

function commandEnv(check: Check, target: CheckTarget): Record<string, string> {
  const env: Record<string, string> = {};
  if (target.dir) env.LIFEBOAT_TARGET_DIR = target.dir;
  if (target.url) {
    env.LIFEBOAT_TARGET_URL = target.url;
    const sql = findStore(target.type)?.sql;
    if (sql) {
      const database = restoredDatabase(check, target);
      env.LIFEBOAT_TARGET_DATABASE = database;
      env.LIFEBOAT_TARGET_URL = sql.databaseUrl(target.url, database);
    }
  }
  return env;
}

function secretsOf(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [password, encodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

export function describeExpectation(check: Check): string {
  const e = check.expect;
  const parts: string[] = [];
  if (e?.equals !== undefined) parts.push(`= ${JSON.stringify(e.equals)}`);
  if (e?.min !== undefined) parts.push(`>= ${e.min}`);
  if (e?.max !== undefined) parts.push(`<= ${e.max}`);
  if (e?.contains !== undefined) parts.push(`contains ${JSON.stringify(e.contains)}`);
  if (parts.length > 0) return parts.join(' and ');
  return check.command !== undefined ? 'exits 0' : 'runs without error';
}

const truthy = new Set(['t', 'true', '1', 'on', 'yes', 'y']);
const falsy = new Set(['f', 'false', '0', 'off', 'no', 'n']);

/** Whether `actual` meets the check's `expect` (absent: anything does). */
export function compare(check: Check, actual: string | null): { ok: boolean; error?: string } {
  const e = check.expect;
  if (!e) return { ok: true };
  const fail = (why: string) => ({ ok: false, error: why });
  const shown = actual === null ? 'no value' : JSON.stringify(shorten(actual));
  if (e.equals !== undefined) {
    if (actual === null) return fail(`expected ${JSON.stringify(e.equals)}, got no value`);
    if (typeof e.equals === 'number') {
      if (actual.trim() === '' || Number(actual) !== e.equals)
        return fail(`expected ${e.equals}, got ${shown}`);
    } else if (typeof e.equals === 'boolean') {
      const v = actual.trim().toLowerCase();
      const parsed = truthy.has(v) ? true : falsy.has(v) ? false : undefined;
      if (parsed !== e.equals) return fail(`expected ${e.equals}, got ${shown}`);
    } else if (actual !== e.equals) {
      return fail(`expected ${JSON.stringify(e.equals)}, got ${shown}`);
    }
  }
  if (e.min !== undefined || e.max !== undefined) {
    const n = actual === null || actual.trim() === '' ? NaN : Number(actual);
    if (!Number.isFinite(n)) return fail(`expected a number, got ${shown}`);
    if (e.min !== undefined && n < e.min) return fail(`expected at least ${e.min}, got ${n}`);
    if (e.max !== undefined && n > e.max) return fail(`expected at most ${e.max}, got ${n}`);
  }
  if (e.contains !== undefined && !(actual ?? '').includes(e.contains)) {
    return fail(`expected it to contain ${JSON.stringify(e.contains)}, got ${shown}`);
  }
  return { ok: true };
}

function shorten(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
