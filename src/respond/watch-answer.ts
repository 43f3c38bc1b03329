/** How the watch reports and audits its answer to a loss. */
import type { HandoverAwareOutcome } from './failover/auto-failover.js';
import type { QuietAudit, Report } from './watch-events.js';

type Answer = Exclude<HandoverAwareOutcome, { outcome: 'handover-underway' }>;

export async function reportAnswer(
  dataset: string,
  outcome: Answer,
  report: Report,
  audit: QuietAudit,
  fences: { cancel(): void }[],
): Promise<void> {
  switch (outcome.outcome) {
    case 'restarted':
      report('restarted', `PostgreSQL restarted in place in ${outcome.seconds.toFixed(2)}s; watching again`, {
        seconds: outcome.seconds,
      });
      return void (await audit('restarted', { seconds: outcome.seconds }));
    case 'failed-over': {
      const { result } = outcome;
      // It could not be stopped: stopped the moment it answers again, for as long as we run.
      if (result.fenceWatch) fences.push(result.fenceWatch);
      report(
        'failed-over',
        `failed over to ${result.newPrimary} in ${result.seconds.total.toFixed(2)}s after the loss was declared ` +
          `(fence ${result.seconds.fence.toFixed(2)}s, promote ${result.seconds.promote.toFixed(2)}s, route ${result.seconds.route.toFixed(2)}s)` +
          `; the old primary is guarded until this watch stops`,
        {
          from: result.oldPrimary,
          to: result.newPrimary,
          seconds: result.seconds,
          warnings: result.warnings,
        },
      );
      return void (await audit('ok', {
        from: result.oldPrimary,
        to: result.newPrimary,
        seconds: result.seconds,
      }));
    }
    case 'approval-needed':
      report(
        'approval-needed',
        `the plan wants a person to decide: review with lifeboat failover ${dataset} --dry-run, then lifeboat failover ${dataset}`,
      );
      return void (await audit('approval-needed', { failure: outcome.loss.failure }));
    case 'refused':
      report('refused', `automatic failover refused: ${outcome.error.message}; nothing was changed`);
      return void (await audit('refused', { error: outcome.error.message }));
    case 'no-standby':
      report(
        'no-standby',
        `no standby of this primary is known to Lifeboat, so nothing was promoted: bring the primary back, or promote a standby by hand ` +
          `(lifeboat failover ${dataset} once the plan names it: datasets.${dataset}.source.url, replication.standby)`,
        { failure: outcome.loss.failure },
      );
      return void (await audit('no-standby', { failure: outcome.loss.failure }));
  }
}
