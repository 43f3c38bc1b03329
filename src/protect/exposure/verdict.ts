/**
 * What the live measurements mean for a dataset's compliance. A breach measured on the
 * server (archiving failing, off, or behind the RPO) makes the dataset non-compliant: its
 * recovery points may be fresh, but a loss now would cost more than the RPO allows. What
 * could not be measured (a server unreachable, a standby not streaming, lag above
 * `max_lag`) is a warning: it breaches no target Lifeboat can show, and the standby
 * protects against the loss of a host, which the RPO is not about.
 */
import { formatDuration } from '../../plan/duration.js';
import type { LiveObservation } from './live.js';

export interface LiveFindings {
  /** Why the dataset is not compliant. */
  reasons: string[];
  warnings: string[];
}

export function liveFindings(observation: LiveObservation | undefined): LiveFindings {
  const reasons: string[] = [];
  const warnings: string[] = [];
  const exposure = observation?.exposure;
  if (exposure) {
    switch (exposure.status) {
      case 'failing': {
        const { count, lastWal, lastAt } = exposure.failures;
        reasons.push(
          `WAL archiving is failing: ${count} failed attempts, the last for ${lastWal ?? 'an unknown segment'} at ${lastAt ?? 'an unknown time'}; ${unarchived(exposure.bytesNotArchived)}`,
        );
        break;
      }
      case 'breached':
        reasons.push(
          `a loss now would cost up to ${formatDuration(Math.round(exposure.exposureSeconds ?? 0))} of writes, RPO ${formatDuration(exposure.rpoSeconds ?? 0)}: ${unarchived(exposure.bytesNotArchived)}`,
        );
        break;
      case 'not-archiving':
        reasons.push(`WAL is not archived: ${exposure.reason}`);
        break;
      case 'standby':
        warnings.push(`live exposure not measured: the source url points at ${exposure.reason}`);
        break;
      case 'unknown':
        warnings.push(`live exposure unknown: ${exposure.reason}`);
        break;
      case 'ok':
        break;
    }
  }
  const replication = observation?.replication;
  if (replication) {
    if (replication.status !== 'streaming') {
      warnings.push(`standby ${replication.standby}: ${replication.reason}`);
    } else if (replication.withinMaxLag === false) {
      warnings.push(
        `standby ${replication.standby} replays ${formatDuration(Math.round(replication.replayLagSeconds ?? 0))} behind, more than max_lag ${formatDuration(replication.maxLagSeconds ?? 0)}`,
      );
    }
  }
  return { reasons, warnings };
}

function unarchived(bytes: number | null): string {
  return bytes === null
    ? 'unarchived WAL accumulates on the primary'
    : `${bytes} bytes of WAL exist only on the primary`;
}
