/**
 * What the notification engine needs to know about an incident. The incident module keeps
 * its own records; it hands these facts over when it asks for notifications, so that this
 * engine depends on no incident storage.
 */
import type { Severity } from './channels/channel.js';

export interface IncidentFacts {
  /** Stable: part of every idempotency key, so the same incident is never announced twice. */
  id: string;
  title: string;
  severity: Severity;
  /** investigating, identified, monitoring, resolved... as the incident module words it. */
  status: string;
  /** Affected services: the plan's service ids. */
  services: readonly string[];
  /** ISO 8601: the clock of the stakeholder matrix starts here. */
  startedAt: string;
  /** ISO 8601; set once resolved: resolution messages become due. */
  resolvedAt?: string | undefined;
  impact?: string | undefined;
  scenario?: string | undefined;
  /** Default: the title. */
  summary?: string | undefined;
  /** The latest update's text. */
  update?: string | undefined;
  updatedAt?: string | undefined;
  nextSteps?: string | undefined;
  /** When the next update is promised; default: the stakeholder's next checkpoint. */
  nextUpdateAt?: string | undefined;
  /** Estimated resolution, as people write it (`14:30 UTC`, `2h`). */
  eta?: string | undefined;
  /** A name; default: the person in the plan's `incident-commander` role. */
  commander?: string | undefined;
  rootCause?: string | undefined;
  resolution?: string | undefined;
  prevention?: string | undefined;
  reviewAt?: string | undefined;
  url?: string | undefined;
  /**
   * Stakeholder conditions that hold, in the plan's words (`major incident`): a stakeholder
   * with a `condition` is told only when it is listed here. Default: none.
   */
  conditions?: readonly string[] | undefined;
}
