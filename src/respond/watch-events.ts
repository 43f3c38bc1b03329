/**
 * What `lifeboat watch` reports: one event per thing that happened to a dataset, each with a
 * line for people and its own fields (the CLI prints the line, or the whole event as JSON).
 */
export type WatchEventKind =
  | 'watching'
  | 'stopping'
  | 'lost'
  | 'planned'
  | 'restart-failed'
  | 'restarted'
  | 'failed-over'
  | 'fenced'
  | 'approval-needed'
  | 'refused'
  | 'no-standby'
  | 'paused'
  | 'resumed'
  | 'stale-handover'
  | 'following'
  | 'standby-attached'
  | 'reloaded'
  | 'reload-failed'
  | 'error';

/** One thing that happened to a dataset (`*`: to the watch), with a line for people and the event's own fields. */
export type WatchEvent = { dataset: string; event: WatchEventKind; message: string } & Record<
  string,
  unknown
>;

/** How the watch of a dataset ended: stopped, or a loss it could not answer by itself. */
export type WatchEnd = 'stopped' | 'approval-needed' | 'refused' | 'no-standby' | 'error';

/** Reports an event of one dataset. */
export type Report = (event: WatchEventKind, message: string, fields?: Record<string, unknown>) => void;

/** Audits an outcome of one dataset as `watch.failover`; never fails the watch. */
export type QuietAudit = (outcome: string, details: Record<string, unknown>) => Promise<unknown>;

/** A URL for messages: no credentials. */
export function shownUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
