/**
 * Runs scheduled probes, each on its own timer: a probe that hangs until its timeout never
 * delays another, because nothing awaits the probes in turn. Each probe's first check starts
 * at a random point of its first interval (jitter), so that a thousand probes of the same
 * interval do not all fire in the same millisecond; after that each keeps its own cadence,
 * skipping the slots a check ran over rather than running two checks of one probe at once.
 *
 * A probe is `unknown` until it has an answer; `failures` consecutive failures make it `down`,
 * `successes` consecutive successes make a down probe `up` (a first success makes an unknown
 * probe up at once). Each change is one event.
 */
import { setMaxListeners } from 'node:events';
import type { ScheduledProbe } from './index.js';
import type { ProbeKind, ProbeResult } from './probe.js';

export type ProbeState = 'unknown' | 'up' | 'down';

/** One finished check, as the runner saw it. */
export interface ProbeCheck extends ProbeResult {
  readonly probe: string;
  /** When the check started (epoch ms). */
  readonly at: number;
  /** How late it started against its schedule, in ms: how well the runner keeps time. */
  readonly lateMs: number;
}

export type ProbeEvent =
  | {
      readonly type: 'down';
      readonly probe: string;
      readonly from: 'unknown' | 'up';
      readonly at: number;
      /** The last failure's message: what a person must look at. */
      readonly message: string;
      readonly failures: number;
    }
  | {
      readonly type: 'up';
      readonly probe: string;
      readonly from: 'unknown' | 'down';
      readonly at: number;
      readonly message: string;
      /** How long it was down, when it was. */
      readonly downForMs?: number;
    };

export interface ProbeStatus {
  readonly id: string;
  readonly kind: ProbeKind;
  readonly target: string;
  readonly state: ProbeState;
  /** When the state last changed (epoch ms); undefined while unknown. */
  readonly since: number | undefined;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  readonly last: ProbeCheck | undefined;
}

export interface RunProbesOptions {
  /** Stops every probe when aborted, like stop(). */
  signal?: AbortSignal;
  /** Each state change. Must not throw (see onError). */
  onEvent?: (event: ProbeEvent) => void;
  /** Each finished check, e.g. to record it. Must not throw (see onError). */
  onCheck?: (check: ProbeCheck) => void;
  /** A callback threw. Default: the error is thrown again outside the runner (a bug to see). */
  onError?: (error: unknown) => void;
  /** 0 ≤ x < 1, for the first check's jitter. Default: Math.random. */
  random?: () => number;
}

export interface ProbeRunner {
  /** Every probe's current state, in the order given. */
  status(): ProbeStatus[];
  /** One probe's state; undefined for an id it does not run. */
  statusOf(id: string): ProbeStatus | undefined;
  /** Stops every timer and waits for the checks in flight (aborted) to settle. Idempotent. */
  stop(): Promise<void>;
}

/** A check that ignores its abort is given this long to settle before the runner moves on. */
const ABORT_GRACE_MS = 200;

export function startProbes(probes: readonly ScheduledProbe[], options: RunProbesOptions = {}): ProbeRunner {
  const ids = new Set<string>();
  for (const { probe } of probes) {
    if (ids.has(probe.id)) throw new Error(`probe runner: probe ${probe.id} is given twice`);
    ids.add(probe.id);
  }
  const random = options.random ?? Math.random;
  const onError =
    options.onError ??
    ((error: unknown) =>
      process.nextTick(() => {
        throw error;
      }));
  const stopping = new AbortController();
  // Every check in flight listens for the stop: a thousand probes are not a listener leak.
  setMaxListeners(0, stopping.signal);
  const inFlight = new Set<Promise<void>>();

  function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
    try {
      callback?.(value);
    } catch (error) {
      onError(error);
    }
  }

  class ProbeRun {
    state: ProbeState = 'unknown';
    since: number | undefined;
    failures = 0;
    successes = 0;
    last: ProbeCheck | undefined;
    timer: NodeJS.Timeout | undefined;
    due: number;

    constructor(readonly scheduled: ScheduledProbe) {
      this.due = performance.now() + random() * scheduled.intervalMs;
    }

    arm(): void {
      if (stopping.signal.aborted) return;
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          const run = this.checkOnce().finally(() => inFlight.delete(run));
          inFlight.add(run);
        },
        Math.max(0, this.due - performance.now()),
      );
    }

    async checkOnce(): Promise<void> {
      const { probe, intervalMs, timeoutMs } = this.scheduled;
      const lateMs = Math.max(0, Math.round(performance.now() - this.due));
      const at = Date.now();
      const result = await bounded(probe.check.bind(probe), timeoutMs, stopping.signal);
      if (stopping.signal.aborted) return; // a check cut short by stop() says nothing about the target
      const check: ProbeCheck = { ...result, probe: probe.id, at, lateMs };
      this.last = check;
      notify(options.onCheck, check);
      this.transition(check);
      // The next slot on this probe's own cadence, skipping any this check ran over.
      const now = performance.now();
      this.due += intervalMs;
      if (this.due < now) this.due += Math.ceil((now - this.due) / intervalMs) * intervalMs;
      this.arm();
    }

    transition(check: ProbeCheck): void {
      const { failures: needFailures, successes: needSuccesses } = this.scheduled;
      if (check.ok) {
        this.successes += 1;
        this.failures = 0;
        if (this.state === 'unknown' || (this.state === 'down' && this.successes >= needSuccesses)) {
          const from = this.state;
          const downForMs = from === 'down' && this.since !== undefined ? check.at - this.since : undefined;
          this.change('up', check.at);
          notify(options.onEvent, {
            type: 'up',
            probe: check.probe,
            from,
            at: check.at,
            message: check.message,
            ...(downForMs === undefined ? {} : { downForMs }),
          });
        }
      } else {
        this.failures += 1;
        this.successes = 0;
        if (this.state !== 'down' && this.failures >= needFailures) {
          const from = this.state;
          this.change('down', check.at);
          notify(options.onEvent, {
            type: 'down',
            probe: check.probe,
            from,
            at: check.at,
            message: check.message,
            failures: this.failures,
          });
        }
      }
    }

    change(state: ProbeState, at: number): void {
      this.state = state;
      this.since = at;
    }

    status(): ProbeStatus {
      const { probe } = this.scheduled;
      return {
        id: probe.id,
        kind: probe.kind,
        target: probe.target,
        state: this.state,
        since: this.since,
        consecutiveFailures: this.failures,
        consecutiveSuccesses: this.successes,
        last: this.last,
      };
    }
  }

  const runs = probes.map((scheduled) => new ProbeRun(scheduled));
  let stopped: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopped ??= (async () => {
      stopping.abort(new Error('the probe runner stopped'));
      for (const run of runs) clearTimeout(run.timer);
      await Promise.all([...inFlight]);
    })();
    return stopped;
  }

  const byId = new Map(runs.map((run) => [run.scheduled.probe.id, run]));
  if (options.signal?.aborted) void stop();
  else {
    options.signal?.addEventListener('abort', () => void stop(), { once: true });
    for (const run of runs) run.arm();
  }
  return {
    status: () => runs.map((run) => run.status()),
    statusOf: (id) => byId.get(id)?.status(),
    stop,
  };
}

/**
 * One check under its deadline and the runner's stop. Whatever the probe does, this settles
 * within timeout + grace: a probe that ignores its signal is left behind, reported as timed out.
 */
async function bounded(
  check: (signal: AbortSignal) => Promise<ProbeResult>,
  timeoutMs: number,
  stop: AbortSignal,
): Promise<ProbeResult> {
  const controller = new AbortController();
  const started = performance.now();
  const onStop = (): void => controller.abort(stop.reason);
  stop.addEventListener('abort', onStop, { once: true });
  const deadline = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
  let grace: NodeJS.Timeout | undefined;
  const abandoned = new Promise<ProbeResult>((resolve) => {
    controller.signal.addEventListener(
      'abort',
      () => {
        grace = setTimeout(
          () =>
            resolve({
              ok: false,
              latencyMs: Math.round(performance.now() - started),
              message: `no answer within ${timeoutMs} ms`,
            }),
          ABORT_GRACE_MS,
        );
      },
      { once: true },
    );
  });
  try {
    return await Promise.race([
      check(controller.signal).catch((error: unknown): ProbeResult => ({
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        message: `the probe failed: ${error instanceof Error ? error.message : String(error)}`,
      })),
      abandoned,
    ]);
  } finally {
    clearTimeout(deadline);
    clearTimeout(grace);
    stop.removeEventListener('abort', onStop);
  }
}

function timeoutError(timeoutMs: number): Error {
  const error = new Error(`no answer within ${timeoutMs} ms`);
  error.name = 'TimeoutError';
  return error;
}
