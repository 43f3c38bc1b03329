/**
 * Running one attempt of a stream backup: a producer command whose standard output
 * becomes one file of a snapshot. What the attempt's outcome means is decided by the
 * repository (repository.ts); this file only runs the processes and reports their exits.
 */
import { spawnBound } from '../../system/tool.js';
import { closeSync, openSync } from 'node:fs';
import { descendantPids } from '../../system/process.js';
import type { Producer } from './command.js';
import { parseBackupLine, type BackupProgress, type BackupSummary } from './output.js';
import type { Redactor } from './redact.js';
import { TextTail, eachLine, exitOf, exitOfProcess, run, type Exit } from './run.js';

export interface BackupAttempt {
  restic: Exit;
  /** restic's stderr, redacted: what may be shown. */
  resticStderr: string;
  /** restic's stderr as printed, to classify the failure only: never shown or logged. */
  resticStderrRaw: string;
  producer: Exit;
  producerStderr: string;
  /** Lifeboat stopped the producer (restic had ended, or the backup was aborted): its failure is no cause. */
  producerStopped: boolean;
  summary: BackupSummary | undefined;
}

export interface AttemptInput {
  resticPath: string;
  /** restic's arguments, global flags included. */
  args: string[];
  resticEnv: NodeJS.ProcessEnv;
  redact: Redactor;
  onProgress?: (progress: BackupProgress) => void;
  signal?: AbortSignal;
}

/** Feeds `backup --json` lines to `onProgress`; returns the summary once it comes. */
export function backupLineHandler(
  onProgress: ((progress: BackupProgress) => void) | undefined,
  onSummary: (summary: BackupSummary) => void,
): (line: string) => void {
  return (line) => {
    const message = parseBackupLine(line);
    if (message.type === 'status') onProgress?.(message.progress);
    else if (message.type === 'summary') onSummary(message.summary);
  };
}

/** Producers get Lifeboat's environment without restic's variables, plus their own. */
export function producerEnv(parent: NodeJS.ProcessEnv, producer: Producer): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(parent).filter(([name]) => !name.startsWith('RESTIC_')));
  return { ...env, ...producer.env };
}

/**
 * restic < 0.17: Lifeboat starts the producer and hands the read end of its standard output
 * to `restic backup --stdin`: the two talk through one pipe, nothing touches the disk, and
 * the data never passes through Lifeboat (which, copying 489 MiB of dump from one pipe to
 * the other, spent about 1 s of CPU on it). Lifeboat dying therefore cuts nothing short:
 * restic sees its end of file only when the producer closes its output.
 */
export async function pipedBackup(
  input: AttemptInput & { producer: Producer; parentEnv: NodeJS.ProcessEnv },
): Promise<BackupAttempt> {
  const producer = spawnBound(input.producer.command, input.producer.args, {
    env: producerEnv(input.parentEnv, input.producer),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const producerExit = exitOfProcess(producer);
  const restic = spawnBound(input.resticPath, input.args, {
    env: input.resticEnv,
    // A producer that could not start has no output to hand over: restic reads nothing.
    stdio: [producer.stdout ?? 'ignore', 'pipe', 'pipe'],
  });
  // restic holds its own copy of the pipe; Lifeboat's would keep it open for nothing.
  producer.stdout?.destroy();
  const resticExit = exitOf(restic);
  const resticStderr = new TextTail();
  const producerStderr = new TextTail(4096);
  restic.stderr.setEncoding('utf8').on('data', (chunk: string) => resticStderr.push(chunk));
  producer.stderr.setEncoding('utf8').on('data', (chunk: string) => producerStderr.push(chunk));
  producer.on('error', (error) =>
    producerStderr.push(`cannot start ${input.producer.command}: ${error.message}\n`),
  );
  let summary: BackupSummary | undefined;
  eachLine(
    restic.stdout,
    backupLineHandler(input.onProgress, (s) => (summary = s)),
  );

  let producerStopped = false;
  const stopProducer = () => {
    if (producer.exitCode !== null || producer.signalCode !== null) return;
    producerStopped = true;
    // A shell producer's own children (`sh -c 'pg_dumpall | gzip'`) would outlive the shell:
    // once it is gone they are no longer ours to find. It is frozen first, so that it starts
    // no new child between the look and the signal; SIGTERM reaches it when it thaws.
    const pid = producer.pid;
    if (pid !== undefined) {
      signalPid(pid, 'SIGSTOP');
      for (const child of descendantPids(pid)) signalPid(child, 'SIGTERM');
    }
    producer.kill('SIGTERM');
    if (pid !== undefined) signalPid(pid, 'SIGCONT');
  };
  // On SIGINT restic stops, removes its lock and saves nothing.
  const onAbort = () => {
    restic.kill('SIGINT');
    stopProducer();
  };
  input.signal?.addEventListener('abort', onAbort, { once: true });
  // A restic that ended will never read the rest: a producer still running is stopped.
  void resticExit.then(stopProducer);
  try {
    const [resticResult, producerResult] = await Promise.all([resticExit, producerExit]);
    return {
      restic: resticResult,
      resticStderr: input.redact(resticStderr.toString()),
      resticStderrRaw: resticStderr.toString(),
      producer: producerResult,
      producerStderr: input.redact(producerStderr.toString()),
      producerStopped,
      summary,
    };
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }
}

/** restic 0.17+: restic runs the producer (`--stdin-from-command`) and fails when it fails. */
export async function commandBackup(input: AttemptInput): Promise<BackupAttempt> {
  let summary: BackupSummary | undefined;
  const result = await run(input.resticPath, input.args, {
    env: input.resticEnv,
    onStdoutLine: backupLineHandler(input.onProgress, (s) => (summary = s)),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  const outcome = producerOutcome(result.stderr);
  return {
    restic: result,
    resticStderr: input.redact(result.stderr),
    resticStderrRaw: result.stderr,
    producer: outcome.producer,
    producerStderr: input.redact(outcome.producerStderr),
    producerStopped: false,
    summary,
  };
}

/**
 * The producer's exit and stderr as restic 0.17 relays them: each stderr line as
 * "subprocess NAME: line", a failure as "command failed: exit status N" or "... signal: killed".
 */
export function producerOutcome(resticStderr: string): { producer: Exit; producerStderr: string } {
  const lines = resticStderr
    .split('\n')
    .filter((l) => l.startsWith('subprocess '))
    .map((l) => l.replace(/^subprocess \S+: /, ''));
  const failed = /command failed: (?:exit status (\d+)|signal: (\w+))/.exec(resticStderr);
  let producer: Exit = { code: 0, signal: null };
  if (failed?.[1] !== undefined) producer = { code: Number(failed[1]), signal: null };
  else if (failed?.[2] !== undefined) producer = { code: null, signal: goSignal(failed[2]) };
  return { producer, producerStderr: lines.join('\n') };
}

// Go prints signals by their description ("killed", "terminated", "broken pipe", ...).
const GO_SIGNALS: Record<string, NodeJS.Signals> = {
  killed: 'SIGKILL',
  terminated: 'SIGTERM',
  interrupt: 'SIGINT',
  broken: 'SIGPIPE',
  aborted: 'SIGABRT',
  hangup: 'SIGHUP',
};

function goSignal(word: string): NodeJS.Signals {
  return GO_SIGNALS[word] ?? 'SIGTERM';
}

/**
 * A local file as restic's standard input: restic reads it itself, so a snapshot it saves
 * holds the whole file even if Lifeboat dies meanwhile. Opened for each attempt, so that a
 * retry reads it from its start again.
 */
export async function fileBackup(input: AttemptInput & { path: string }): Promise<BackupAttempt> {
  let summary: BackupSummary | undefined;
  const fd = openSync(input.path, 'r');
  const child = spawnBound(input.resticPath, input.args, {
    env: input.resticEnv,
    stdio: [fd, 'pipe', 'pipe'],
  });
  closeSync(fd); // restic has its own copy
  const stderr = new TextTail();
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  eachLine(
    child.stdout!,
    backupLineHandler(input.onProgress, (s) => (summary = s)),
  );
  const exit = await exitOf(child);
  return {
    restic: exit,
    resticStderr: input.redact(stderr.toString()),
    resticStderrRaw: stderr.toString(),
    producer: { code: 0, signal: null },
    producerStderr: '',
    producerStopped: false,
    summary,
  };
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone meanwhile
  }
}
