/**
 * The model in the shape of Statuspage's public API (`/api/v2/*.json`), so that its widgets,
 * monitors and scripts read our page unchanged. Pure. Fields Statuspage has and Lifeboat does
 * not track (tweets, showcase settings) carry Statuspage's neutral values.
 */
import { INDICATOR_DESCRIPTIONS, pageIndicator, slug } from './build.js';
import type { ComponentStatus, StatusComponent, StatusIncident, StatusPageModel } from './model.js';

type Json = Record<string, unknown>;

export function pageJson(model: StatusPageModel): Json {
  const { page } = model;
  return {
    id: page.id,
    name: page.name,
    url: page.url,
    time_zone: page.timeZone,
    updated_at: page.updatedAt,
  };
}

export function statusJson(model: StatusPageModel): Json {
  const indicator = pageIndicator(model);
  return { indicator, description: INDICATOR_DESCRIPTIONS[indicator] };
}

const WORST_FIRST: ComponentStatus[] = [
  'major_outage',
  'partial_outage',
  'degraded_performance',
  'under_maintenance',
  'operational',
];

const groupId = (model: StatusPageModel, group: string) => `${model.page.id}-group-${slug(group)}`;

function componentJson(model: StatusPageModel, c: StatusComponent, position: number): Json {
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    position,
    description: c.description,
    showcase: true,
    start_date: null,
    group_id: c.group === null ? null : groupId(model, c.group),
    page_id: model.page.id,
    group: false,
    only_show_if_degraded: false,
  };
}

/**
 * Components, with one group component (`group: true`, its members' ids) before the members of
 * each group, groups in the order their first member comes in the plan, as Statuspage lists them.
 */
export function componentsJson(model: StatusPageModel): Json[] {
  const out: Json[] = [];
  const groups = [...new Set(model.components.map((c) => c.group))];
  for (const group of groups) {
    const members = model.components.filter((m) => m.group === group);
    if (group !== null)
      out.push({
        id: groupId(model, group),
        name: group,
        status: WORST_FIRST.find((s) => members.some((m) => m.status === s)) ?? 'operational',
        created_at: members.map((m) => m.createdAt).reduce((a, b) => (b < a ? b : a)),
        updated_at: members.map((m) => m.updatedAt).reduce((a, b) => (b > a ? b : a)),
        position: out.length + 1,
        description: null,
        showcase: false,
        start_date: null,
        group_id: null,
        page_id: model.page.id,
        group: true,
        only_show_if_degraded: false,
        components: members.map((m) => m.id),
      });
    for (const member of members) out.push(componentJson(model, member, out.length + 1));
  }
  return out;
}

function incidentJson(model: StatusPageModel, incident: StatusIncident): Json {
  const base = model.page.url ?? '';
  const monitoring = incident.updates.filter((u) => u.status === 'monitoring').at(-1);
  return {
    id: incident.id,
    name: incident.name,
    status: incident.status,
    created_at: incident.createdAt,
    updated_at: incident.updatedAt,
    monitoring_at: monitoring?.createdAt ?? null,
    resolved_at: incident.resolvedAt,
    impact: incident.impact,
    shortlink: `${base.replace(/\/+$/, '')}/#incident-${incident.id}`,
    started_at: incident.createdAt,
    page_id: model.page.id,
    incident_updates: incident.updates.map((u) => ({
      id: u.id,
      status: u.status,
      body: u.body,
      incident_id: incident.id,
      created_at: u.createdAt,
      updated_at: u.createdAt,
      display_at: u.createdAt,
      affected_components: null,
      deliver_notifications: false,
      custom_tweet: null,
      tweet_id: null,
    })),
    components: model.components
      .filter((c) => incident.components.includes(c.id))
      .map((c) => componentJson(model, c, model.components.indexOf(c) + 1)),
  };
}

export function incidentsJson(model: StatusPageModel, which: 'all' | 'unresolved'): Json[] {
  return model.incidents
    .filter((i) => which === 'all' || i.resolvedAt === null)
    .map((i) => incidentJson(model, i));
}

/** `/api/v2/summary.json`: page, components, unresolved incidents, maintenances in progress, status. */
export function summaryJson(model: StatusPageModel): Json {
  return {
    page: pageJson(model),
    components: componentsJson(model),
    incidents: incidentsJson(model, 'unresolved'),
    scheduled_maintenances: [],
    status: statusJson(model),
  };
}
