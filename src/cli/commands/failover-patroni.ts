/**
 * What `lifeboat failover` and `switchover` print as text for a dataset whose cluster Patroni
 * manages: the decision before, the new leader and the time it took after.
 */
import type { PatroniHandoverReport } from '../../respond/handover.js';
import { describeMembers } from '../../respond/patroni/handover-plan.js';
import { formatSeconds } from '../format.js';

export function patroniText(result: PatroniHandoverReport): string {
  const { dataset } = result;
  const from = result.oldLeader ?? 'no leader';
  const head = result.dryRun
    ? `${result.mode} of ${dataset} through Patroni: ${from} -> ${result.newLeader} (${result.lagBytesBefore} bytes behind)`
    : `${dataset}: ${result.newLeader} leads after a ${result.mode} through Patroni, ${formatSeconds(result.seconds)} from the request (was ${from})`;
  return `${head}\n  members: ${describeMembers(result.members)}\n`;
}
