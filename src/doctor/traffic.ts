/**
 * Whether the pooler a failover moves clients through gives the RTO the plan states. A
 * pgbouncer at its stock settings adds its own waits to every failover: after the old
 * primary is gone it retries a failed server login only every `server_login_retry` (15 s)
 * and gives a connection attempt `server_connect_timeout` (15 s); with session pooling a
 * switchover waits for sessions that never end. Doctor reads the ini file the plan names and
 * says which lines to set, and fails when the waits alone overrun the dataset's RTO.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from '../plan/duration.js';
import { effectiveRto, normalizeDependency } from '../plan/graph.js';
import type { Plan } from '../plan/schema.js';
import type { DoctorCheck } from './check.js';

/** One setting of pgbouncer.ini that lengthens a failover, and the line that fixes it. */
export interface PoolerFinding {
  setting: string;
  value: string;
  /** Seconds it can add to a failover's RTO. */
  addsSeconds: number;
  line: string;
  why: string;
}

/** The `[pgbouncer]` section's settings, keys lower-cased (pgbouncer's are case-insensitive). */
export function pgbouncerSettings(ini: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const raw of ini.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim().toLowerCase();
      continue;
    }
    const eq = line.indexOf('=');
    if (section === 'pgbouncer' && eq > 0)
      settings.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return settings;
}

/** What in these settings lengthens a failover (pgbouncer's defaults where a line is absent). */
export function pgbouncerFailoverFindings(settings: Map<string, string>): PoolerFinding[] {
  const findings: PoolerFinding[] = [];
  const seconds = (key: string, fallback: number) => {
    const value = Number(settings.get(key) ?? fallback);
    return Number.isFinite(value) ? value : fallback;
  };
  const loginRetry = seconds('server_login_retry', 15);
  if (loginRetry > 1)
    findings.push({
      setting: 'server_login_retry',
      value: String(loginRetry),
      addsSeconds: loginRetry,
      line: 'server_login_retry = 0.1',
      why: 'after a login to the dead primary fails, pgbouncer tries the new one only this much later',
    });
  const connectTimeout = seconds('server_connect_timeout', 15);
  if (connectTimeout > 2)
    findings.push({
      setting: 'server_connect_timeout',
      value: String(connectTimeout),
      addsSeconds: connectTimeout,
      line: 'server_connect_timeout = 2',
      why: 'a primary whose host no longer answers holds each connection attempt this long',
    });
  const poolMode = settings.get('pool_mode') ?? 'session';
  if (poolMode === 'session')
    findings.push({
      setting: 'pool_mode',
      value: poolMode,
      addsSeconds: 5,
      line: 'pool_mode = transaction',
      why: 'a switchover waits up to 5 s for sessions to end before it cuts them off',
    });
  return findings;
}

/** The dataset's RTO: the smallest of the services that depend on it, else the plan's. */
export function datasetRto(plan: Plan, datasetId: string): number | undefined {
  const rtos = Object.entries(plan.services ?? {})
    .filter(([, service]) => (service.depends_on ?? []).some((d) => normalizeDependency(d).to === datasetId))
    .map(([id]) => effectiveRto(plan, id))
    .filter((rto): rto is number => rto !== undefined);
  if (rtos.length > 0) return Math.min(...rtos);
  const own = plan.objectives?.rto;
  return own === undefined ? undefined : parseDuration(own);
}

/**
 * For `status`: per dataset, a line when its pooler's settings lengthen a failover (only
 * what doctor finds, said once per dataset; an unreadable ini file is doctor's to report).
 */
export function poolerWarnings(plan: Plan, planDir: string): Map<string, string> {
  const warnings = new Map<string, string>();
  for (const check of checkTraffic(plan, planDir)) {
    if (check.dataset === undefined || check.unread || (check.ok && !check.warning)) continue;
    warnings.set(check.dataset, `${check.detail}; set ${check.fix ?? ''}`);
  }
  return warnings;
}

/** One check per dataset whose failover moves clients through a pgbouncer whose ini file is here. */
export function checkTraffic(
  plan: Plan,
  planDir: string,
): (DoctorCheck & { dataset?: string; unread?: boolean })[] {
  const checks: (DoctorCheck & { dataset?: string; unread?: boolean })[] = [];
  for (const [id, dataset] of Object.entries(plan.datasets ?? {})) {
    const key = dataset.replication?.traffic;
    const pooler = key === undefined ? undefined : plan.traffic?.[key];
    if (pooler?.type !== 'pgbouncer' || pooler.config === undefined) continue;
    const name = `traffic ${key} for ${id}`;
    const file = resolve(planDir, pooler.config);
    let ini: string;
    try {
      ini = readFileSync(file, 'utf8');
    } catch (error) {
      checks.push({
        name,
        dataset: id,
        unread: true,
        ok: true,
        warning: true,
        detail: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}): its failover settings were not checked`,
        fix: 'run doctor where the pgbouncer.ini is readable (failover rewrites it too)',
      });
      continue;
    }
    const findings = pgbouncerFailoverFindings(pgbouncerSettings(ini));
    if (findings.length === 0) {
      checks.push({ name, dataset: id, ok: true, detail: `${file}: no setting lengthens a failover` });
      continue;
    }
    const detect = parseDuration(dataset.replication?.detect_after ?? '3s') ?? 3;
    const worst = detect + Math.max(...findings.map((f) => f.addsSeconds));
    const rto = datasetRto(plan, id);
    const overruns = rto !== undefined && worst > rto;
    checks.push({
      name,
      dataset: id,
      ok: !overruns,
      ...(overruns ? {} : { warning: true }),
      detail:
        `${file}: ${findings.map((f) => `${f.setting} = ${f.value} (${f.why})`).join('; ')}` +
        `; a failover may take ${worst} s` +
        (rto === undefined ? '' : overruns ? `, over the RTO of ${rto} s` : `, within the RTO of ${rto} s`),
      fix: `under [pgbouncer] in ${file}: ${findings.map((f) => f.line).join(', ')}; then RELOAD`,
    });
  }
  return checks;
}
