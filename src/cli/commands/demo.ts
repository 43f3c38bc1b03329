/**
 * lifeboat demo: the main job end to end on this machine. Starts throwaway PostgreSQL,
 * MariaDB and Redis and a directory of files, fills them, writes a plan for them, backs
 * every dataset up, proves every backup by restoring it, and prints a scorecard. Exit 0
 * only when every dataset was backed up and verified.
 *
 * `--keep` leaves the servers running; `--stop DIR` stops what a `--keep` run left.
 */
import { abortOnSignals } from '../shutdown.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../errors.js';
import type { BackupEvent } from '../../protect/backup.js';
import type { VerifyEvent } from '../../protect/verify.js';
import { demoPaths, runDemo, stopDemoServers, type DemoEvent, type DemoResult } from '../../demo/run.js';
import { describeRpo } from '../../demo/scorecard.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { reapLeftovers } from '../reap-leftovers.js';
import { formatBytes, formatSeconds, table } from '../format.js';
import { progressReporter, type ProgressReporter } from '../progress.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'demo',
    args,
    {
      dir: {
        type: 'string',
        value: 'DIR',
        help: 'where the throwaway servers, the plan and the repository go (they stay there). Default: a new temporary directory',
      },
      keep: {
        type: 'boolean',
        help: 'leave the throwaway servers running, to look around; --stop DIR stops them. Default: stopped at the end',
      },
      stop: {
        type: 'string',
        value: 'DIR',
        help: 'stop the servers a demo run with --keep left running in DIR, and do nothing else',
      },
    },
    '[--dir DIR] [--keep] [--json] | --stop DIR',
    { positionals: 0 },
  );
  const json = parsed.flag('json');
  const stopDir = parsed.string('stop');
  if (stopDir !== undefined) return stop(stopDir, json);

  await reapLeftovers(json);
  const dir = parsed.string('dir') ?? mkdtempSync(join(tmpdir(), 'lifeboat-demo-'));
  const progress = progressReporter({ json });
  const abort = abortOnSignals();
  let result: DemoResult;
  try {
    result = await runDemo({
      dir,
      keep: parsed.flag('keep'),
      signal: abort.signal,
      onEvent: (event) => report(progress, event),
    });
  } finally {
    abort.dispose();
    progress.done();
  }
  const commands = inspectCommands(result, dir);
  // Interrupted, the demo proved nothing: its result is not shown as one.
  const shown = abort.signal.aborted ? { ...result, ok: false } : result;
  if (json) process.stdout.write(JSON.stringify({ ...shown, commands }, null, 2) + '\n');
  else process.stdout.write(formatResult(shown, commands));
  if (abort.signal.aborted) return ExitCode.interrupted;
  return result.ok ? ExitCode.ok : ExitCode.failed;
}

async function stop(dir: string, json: boolean): Promise<number> {
  const info = await stopDemoServers(demoPaths(dir).servers);
  if (json)
    process.stdout.write(
      JSON.stringify({ stopped: info !== undefined, servers: info ?? null }, null, 2) + '\n',
    );
  else if (info)
    process.stdout.write(
      `stopped the demo servers of ${dir}: PostgreSQL port ${info.postgres.port}, MariaDB ${info.mariadb.port}, Redis ${info.redis.port}\n`,
    );
  else process.stdout.write(`no demo servers are running for ${dir}\n`);
  return ExitCode.ok;
}

/** Progress: one line per step and per dataset, on stderr (JSON lines with --json). */
function report(progress: ProgressReporter, event: DemoEvent): void {
  if (event.type === 'backup') return reportBackup(progress, event.event);
  if (event.type === 'verify') return reportVerify(progress, event.event);
  progress.event({
    event: `demo-${event.type}`,
    step: event.step,
    message: event.message,
    ...('seconds' in event ? { seconds: event.seconds } : {}),
  });
  if (event.type === 'step-start') progress.line(`demo: ${event.message}...`);
  else progress.line(`demo: ${event.message} (${formatSeconds(event.seconds)})`);
}

function reportBackup(progress: ProgressReporter, event: BackupEvent): void {
  if (event.type === 'progress') {
    progress.update({ label: `${event.dataset} ${event.unit}`, ...event.progress });
    return;
  }
  progress.event({
    event: event.type,
    ...('result' in event
      ? { dataset: event.result.dataset, ok: event.result.ok, snapshotId: event.result.snapshotId }
      : event),
  });
  if (event.type === 'dataset-done')
    progress.line(
      `  ${event.result.dataset}: snapshot ${event.result.snapshotId?.slice(0, 8)}, ${formatBytes(event.result.bytesProcessed)} read in ${formatSeconds(event.result.durationMs / 1000)}`,
    );
  if (event.type === 'dataset-failed') progress.line(`  ${event.dataset}: backup FAILED: ${event.error}`);
}

function reportVerify(progress: ProgressReporter, event: VerifyEvent): void {
  if (event.type === 'restore' && event.event.type === 'progress') {
    progress.update({ label: `restore ${event.dataset} ${event.event.unit}`, ...event.event });
    return;
  }
  const { type, ...rest } = event;
  const payload =
    'result' in rest
      ? { dataset: rest.result.dataset, ok: rest.result.ok, snapshotId: rest.result.snapshotId }
      : 'event' in rest
        ? {
            dataset: rest.dataset,
            step: rest.event.type,
            ...('unit' in rest.event ? { unit: rest.event.unit } : {}),
          }
        : rest;
  progress.event({ event: `verify-${type}`, ...payload });
  if (event.type === 'instance-started')
    progress.line(`  ${event.dataset}: restoring into a throwaway ${event.instance}`);
  if (event.type === 'restic-check')
    progress.line(`  restic check of repository ${event.repository}: ${event.ok ? 'ok' : 'FAILED'}`);
  if (event.type === 'dataset-done') {
    const r = event.result;
    progress.line(
      r.ok
        ? `  ${r.dataset}: verified, restored in ${formatSeconds(r.restoreSeconds)}, ${r.fingerprint.items} item(s) equal to the source` +
            (r.checks.length > 0 ? `, ${r.checks.length} check(s) passed` : '')
        : `  ${r.dataset}: NOT verified: ${r.error ?? 'see the scorecard'}`,
    );
  }
}

interface InspectCommands {
  snapshots: string;
  restic: string;
  doctor?: string;
  stop?: string;
}

function inspectCommands(result: DemoResult, dir: string): InspectCommands {
  return {
    snapshots: `lifeboat snapshots --plan ${quote(result.plan)}`,
    restic: `restic -r ${quote(result.repository.url)} --password-file ${quote(result.repository.passwordFile)} snapshots`,
    ...(result.servers.kept
      ? { doctor: `lifeboat doctor --plan ${quote(result.plan)}`, stop: `lifeboat demo --stop ${quote(dir)}` }
      : {}),
  };
}

/** The scorecard and what to do next. Pure. */
export function formatResult(result: DemoResult, commands: InspectCommands): string {
  const rows = result.datasets.map((d) => [
    d.id,
    d.type,
    d.snapshot?.slice(0, 8) ?? '-',
    formatBytes(d.bytes),
    formatBytes(d.bytesAdded),
    formatSeconds(d.backupSeconds),
    d.verified
      ? `yes (${formatSeconds(d.restoreSeconds ?? 0)}${d.checks.total ? `, ${d.checks.passed}/${d.checks.total} checks` : ''})`
      : 'NO',
    describeRpo(d),
  ]);
  const failed = result.datasets.filter((d) => !d.verified);
  const lines = [
    '',
    table(['dataset', 'type', 'snapshot', 'size', 'new', 'backup', 'verified', 'RPO'], rows).trimEnd(),
    '',
    failed.length === 0
      ? `All ${result.datasets.length} datasets backed up and verified by a restore, in ${formatSeconds(result.seconds.total)}.`
      : `${failed.length} of ${result.datasets.length} datasets NOT verified:\n${failed.map((d) => `  ${d.id}: ${d.error ?? 'not verified'}`).join('\n')}`,
    '',
    `The plan and the repository stay in ${result.plan.replace(/\/lifeboat\.yaml$/, '')}. Look inside with Lifeboat or plain restic:`,
    `  ${commands.snapshots}`,
    `  ${commands.restic}`,
    '',
    result.servers.kept
      ? [
          'The servers are still running:',
          `  PostgreSQL ${result.servers.postgres.url}`,
          `  MariaDB    ${result.servers.mariadb.url}`,
          `  Redis      ${result.servers.redis.url}`,
          `  (with their passwords: .lifeboat/*.url beside the plan, readable by you only)`,
          `  ${commands.doctor}`,
          `Stop them with: ${commands.stop}   (or: kill ${result.servers.pid})`,
        ].join('\n')
      : 'The throwaway servers were stopped and removed.',
  ];
  return lines.join('\n') + '\n';
}

function quote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}
