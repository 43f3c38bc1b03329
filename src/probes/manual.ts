/**
 * Detection by people: nothing to connect to. The probe reports what someone last said
 * (`report`), so that a manual probe goes down and up through the same runner, events and
 * records as the automatic ones. Up until someone reports otherwise.
 */
import type { Probe, ProbeResult } from './probe.js';

export interface ManualProbe extends Probe {
  /** Sets what the next checks report, e.g. after a customer report or its resolution. */
  report(ok: boolean, message: string): void;
}

export function manualProbe(id: string): ManualProbe {
  let last: ProbeResult = { ok: true, latencyMs: 0, message: 'no report' };
  return {
    id,
    kind: 'manual',
    target: 'people',
    check: () => Promise.resolve(last),
    report(ok, message) {
      last = { ok, latencyMs: 0, message };
    },
  };
}
