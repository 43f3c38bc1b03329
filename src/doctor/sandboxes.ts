/**
 * The throwaway servers Lifeboat starts (verify, demo, drills): none may be left behind by a
 * killed Lifeboat process, and none may answer a local user who has no credentials. Leftovers
 * are reaped here, as every command that starts one does.
 */
import { answersWithoutCredentials } from '../stores/sandbox-probes.js';
import { describeReaped, liveInstances, reapLeftoverInstances } from '../system/instance-records.js';
import type { DoctorCheck } from './check.js';

const NAME = 'throwaway servers';

export async function checkSandboxes(): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const reaped = await reapLeftoverInstances();
  const stuck = reaped.filter((r) => r.stillRunning);
  if (stuck.length > 0)
    checks.push({
      name: NAME,
      ok: false,
      detail: stuck.map(describeReaped).join('; '),
      fix: 'Stop those processes as their owner (or root) and remove their directories.',
    });
  else if (reaped.length > 0)
    checks.push({
      name: NAME,
      ok: true,
      warning: true,
      detail: reaped.map(describeReaped).join('; '),
      fix: 'Nothing more to do; a Lifeboat process was killed before it could stop them.',
    });
  else checks.push({ name: NAME, ok: true, detail: 'none left behind by a killed Lifeboat process' });

  for (const record of liveInstances()) {
    const probe = answersWithoutCredentials[record.kind];
    if (record.port === undefined || !probe || !(await probe(record.port))) continue;
    checks.push({
      name: `throwaway ${record.kind} on port ${record.port}`,
      ok: false,
      detail: `answers a connection without credentials (server pid ${record.serverPid ?? '?'}, owner pid ${record.ownerPid})`,
      fix: 'Stop it (the owner pid), and run Lifeboat from this version on: its throwaway servers require a password.',
    });
  }
  return checks;
}
