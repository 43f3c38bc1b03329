/**
 * The public status page: HTML at `/`, the Atom feed, and Statuspage's public API under
 * `/api/v2`. Read-only, no token. The model is built on each request from the plan and the
 * state store: a page is small, and a cache would show a stale incident after an update.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { listIncidents } from '../../incidents/lifecycle.js';
import type { Plan } from '../../plan/schema.js';
import type { StateStore } from '../../state/store.js';
import { renderAtomFeed } from '../../statuspage/atom.js';
import { buildStatusPage, componentIds } from '../../statuspage/build.js';
import { componentUptime, type Uptime } from '../../statuspage/uptime.js';
import { renderStatusPageHtml } from '../../statuspage/html.js';
import type { StatusPageModel } from '../../statuspage/model.js';
import {
  componentsJson,
  incidentsJson,
  pageJson,
  statusJson,
  summaryJson,
} from '../../statuspage/statuspage-api.js';

export interface StatusPageDeps {
  state: StateStore;
  plan: Plan;
  publicUrl: string | null;
  since: string;
}

/** How many past incidents the page and the feeds carry. */
const HISTORY = 100;

export function statusPageRoutes(app: FastifyInstance, deps: StatusPageDeps): void {
  // Ninety days of probe summaries per component: computed at most every 15 s.
  let uptime: { at: number; value: Promise<Uptime> } | undefined;
  const recentUptime = () => {
    if (!uptime || Date.now() - uptime.at > 15_000)
      uptime = {
        at: Date.now(),
        value: componentUptime(deps.plan, deps.state.probes, componentIds(deps.plan)).catch(() => new Map()),
      };
    return uptime.value;
  };
  const model = async (): Promise<StatusPageModel> =>
    buildStatusPage({
      plan: deps.plan,
      incidents: await listIncidents(deps, { limit: HISTORY }),
      publicUrl: deps.publicUrl,
      since: deps.since,
      uptime: await recentUptime(),
    });
  const baseUrl = (request: FastifyRequest) => deps.publicUrl ?? `${request.protocol}://${request.host}`;

  app.get(
    '/',
    { schema: { summary: 'The status page (HTML)', tags: ['status page'] } },
    async (_request, reply) => {
      void reply.type('text/html; charset=utf-8');
      return renderStatusPageHtml(await model());
    },
  );
  app.get(
    '/history.atom',
    { schema: { summary: 'Incident history (Atom)', tags: ['status page'] } },
    async (request, reply) => {
      void reply.type('application/atom+xml; charset=utf-8');
      return renderAtomFeed(await model(), baseUrl(request));
    },
  );

  const v2 = (path: string, summary: string, body: (m: StatusPageModel) => object) =>
    app.get(path, { schema: { summary, tags: ['statuspage api v2'] } }, async () => body(await model()));
  v2('/api/v2/summary.json', 'Page, components, unresolved incidents and status', summaryJson);
  v2('/api/v2/status.json', 'The page indicator', (m) => ({ page: pageJson(m), status: statusJson(m) }));
  v2('/api/v2/components.json', 'Components and their status', (m) => ({
    page: pageJson(m),
    components: componentsJson(m),
  }));
  v2('/api/v2/incidents.json', 'The newest incidents, unresolved and resolved', (m) => ({
    page: pageJson(m),
    incidents: incidentsJson(m, 'all'),
  }));
  v2('/api/v2/incidents/unresolved.json', 'Unresolved incidents', (m) => ({
    page: pageJson(m),
    incidents: incidentsJson(m, 'unresolved'),
  }));
  v2('/api/v2/scheduled-maintenances.json', 'Scheduled maintenances (none are recorded yet)', (m) => ({
    page: pageJson(m),
    scheduled_maintenances: m.maintenances,
  }));
}
