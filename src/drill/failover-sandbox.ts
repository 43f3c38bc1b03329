/**
 * The failover drill on throwaway servers, run several times in a row: each run's result
 * as it comes, then the medians. An abort stops every throwaway server at once, so that an
 * interrupted drill leaves nothing running.
 */
import { stopAll } from '../system/instance.js';
import { runFailoverDrill } from './failover.js';
import type { FaultKind } from './failover-host.js';
import { drillPassed, type FailoverDrillResult } from './failover-result.js';
import { summarize, type FailoverDrillSummary } from './failover-summary.js';

export interface SandboxDrillOptions {
  /** 1 to 100. */
  runs: number;
  sync: boolean;
  fault: FaultKind;
  restartInPlace: boolean;
  /** Stops the throwaway servers. */
  signal?: AbortSignal;
  onEvent?(event: SandboxDrillEvent): void;
}

/** Run `run` of `runs` is done. */
export type SandboxDrillEvent = { type: 'run'; run: number; runs: number; result: FailoverDrillResult };

export interface SandboxDrillsResult {
  results: FailoverDrillResult[];
  summary: FailoverDrillSummary;
  /** Every run fenced, and no synchronous run lost an acknowledged write. */
  passed: boolean;
}

export async function runSandboxFailoverDrills(options: SandboxDrillOptions): Promise<SandboxDrillsResult> {
  const onAbort = () => void stopAll().catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const results: FailoverDrillResult[] = [];
  try {
    for (let run = 1; run <= options.runs; run++) {
      const result = await runFailoverDrill({
        sandbox: true,
        sync: options.sync,
        fault: options.fault,
        restartInPlace: options.restartInPlace,
      });
      results.push(result);
      options.onEvent?.({ type: 'run', run, runs: options.runs, result });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return { results, summary: summarize(results), passed: drillPassed(results) };
}
