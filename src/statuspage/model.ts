/**
 * What a status page shows, independent of where it comes from (the plan's services, probe
 * results, incidents in the state store) and of how it is rendered (HTML, Atom, Statuspage's
 * public JSON API). The words are Statuspage's, so that its readers understand them unchanged.
 */

/** Statuspage's component statuses. */
export type ComponentStatus =
  'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';

/** Statuspage's incident statuses; the first four are the plan's incident lifecycle. */
export type IncidentStatus = 'investigating' | 'identified' | 'monitoring' | 'resolved' | 'postmortem';

/** Statuspage's incident impact (and page indicator). */
export type Impact = 'none' | 'minor' | 'major' | 'critical';

export interface StatusComponent {
  /** Stable: the plan's service id. */
  id: string;
  name: string;
  description: string | null;
  /** A group's name (the plan's grouping, e.g. a tier), or null. */
  group: string | null;
  status: ComponentStatus;
  /**
   * ISO 8601 UTC: when Lifeboat first saw the plan content that lists it (its plan version),
   * the earliest time it is known to have been on the page.
   */
  createdAt: string;
  /** ISO 8601 UTC. */
  updatedAt: string;
  /** One entry per day, oldest first (90 days on the page); availability 0..1, null: no data. */
  uptime: { date: string; availability: number | null }[];
}

export interface StatusIncidentUpdate {
  id: string;
  status: IncidentStatus;
  /** Plain text as written; renderers escape it. */
  body: string;
  createdAt: string;
}

export interface StatusIncident {
  id: string;
  /** Plain text as written; renderers escape it. */
  name: string;
  status: IncidentStatus;
  impact: Impact;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  /** Ids of the affected components. */
  components: string[];
  /** Newest first. */
  updates: StatusIncidentUpdate[];
}

export interface ScheduledMaintenance {
  id: string;
  name: string;
  status: 'scheduled' | 'in_progress' | 'verifying' | 'completed';
  scheduledFor: string;
  scheduledUntil: string;
  components: string[];
  updates: StatusIncidentUpdate[];
}

export interface StatusPageModel {
  page: {
    /** Stable id of the page (derived from the plan's organization). */
    id: string;
    name: string;
    /** The page's public URL, when known (`lifeboat up --public-url`); else null. */
    url: string | null;
    timeZone: string;
    updatedAt: string;
    /** The plan's availability objective (0..1) the uptime is read against, or null when it states none. */
    availabilityObjective: number | null;
  };
  components: StatusComponent[];
  /** Unresolved first, then the history, newest first. */
  incidents: StatusIncident[];
  maintenances: ScheduledMaintenance[];
}
