/**
 * A dry run of a failover or switchover that shows what the real run would do, even when the
 * real run, as asked, would be refused: the refusal becomes part of the answer, with the
 * option that overrides it, and the preview is the plan that option would carry out. A dry
 * run that only repeated "refused" would hide what an operator most needs to see before
 * forcing a failover on a primary that still answers. Like every dry run, it changes nothing
 * and is not audited.
 */
import { RefusedError } from '../errors.js';
import type { Override } from './failover/failover-plan.js';
import { runHandover, type HandoverOptions, type HandoverOutcome } from './handover.js';
import type { ProtectContext } from '../protect/context.js';

export interface HandoverRefusal {
  message: string;
  hint?: string;
  /** The option that overrides it; the preview is what the run would do with it. */
  override: Override;
}

export interface HandoverPreview {
  outcome: HandoverOutcome;
  /** Why the run, as asked, would be refused: empty when it would go ahead. */
  refusals: HandoverRefusal[];
}

export type PreviewOptions = Omit<HandoverOptions, 'dryRun' | 'confirm'>;

export async function previewHandover(
  context: ProtectContext,
  dataset: string,
  options: PreviewOptions,
): Promise<HandoverPreview> {
  const refusals: HandoverRefusal[] = [];
  let asked: PreviewOptions = options;
  // Each refusal names one override; there are two, so the third look can only succeed or fail.
  for (;;) {
    try {
      const outcome = await runHandover(context, dataset, {
        ...asked,
        dryRun: true,
        confirm: () => Promise.reject(new RefusedError('a dry run changes nothing')),
      });
      return { outcome, refusals };
    } catch (error) {
      const override = overrideOf(error);
      if (!(error instanceof RefusedError) || override === undefined || asked[override] === true) throw error;
      refusals.push({ message: error.message, ...(error.hint ? { hint: error.hint } : {}), override });
      asked = { ...asked, [override]: true };
    }
  }
}

function overrideOf(error: unknown): Override | undefined {
  const override = (error as RefusedError).details?.override;
  return override === 'force' || override === 'acceptLoss' ? override : undefined;
}
