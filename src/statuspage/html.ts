/**
 * The status page as one server-rendered HTML document: readable without JavaScript, every
 * text from the plan or an incident escaped (escape-html) where it is written into the page.
 */
import escapeHtml from 'escape-html';
import { INDICATOR_DESCRIPTIONS, pageIndicator } from './build.js';
import type { ComponentStatus, StatusIncident, StatusPageModel } from './model.js';

const STATUS_WORDS: Record<ComponentStatus, string> = {
  operational: 'Operational',
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  under_maintenance: 'Under maintenance',
};

const e = (text: string | null | undefined): string => escapeHtml(text ?? '');

/** Readable UTC time: `2026-11-23 14:01 UTC`. */
function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function incidentHtml(incident: StatusIncident, names: Map<string, string>): string {
  const affected = incident.components.map((id) => e(names.get(id) ?? id)).join(', ');
  return `<article class="incident impact-${e(incident.impact)}" id="incident-${e(incident.id)}">
<h3>${e(incident.name)}</h3>
<p class="meta">Impact: ${e(incident.impact)}${affected ? ` · Affects: ${affected}` : ''} · Started ${e(when(incident.createdAt))}${incident.resolvedAt ? ` · Resolved ${e(when(incident.resolvedAt))}` : ''}</p>
<ol class="updates">
${incident.updates
  .map(
    (u) =>
      `<li><strong>${e(u.status)}</strong> <time datetime="${e(u.createdAt)}">${e(when(u.createdAt))}</time><p>${e(u.body)}</p></li>`,
  )
  .join('\n')}
</ol>
</article>`;
}

/** Percent with two decimals, never rounded up to 100 when a check failed. */
function percent(availability: number): string {
  return `${(Math.floor(availability * 10_000) / 100).toFixed(2)} %`;
}

/**
 * One bar per day, oldest first, its date and availability in its title (and in text for
 * screen readers); a day the probes did not measure says so. The summary counts measured days only.
 */
export function uptimeBars(
  uptime: StatusPageModel['components'][number]['uptime'],
  objective: number | null = null,
): string {
  if (uptime.length === 0) return '';
  const measured = uptime.filter((d) => d.availability !== null);
  const mean =
    measured.length === 0 ? null : measured.reduce((sum, d) => sum + d.availability!, 0) / measured.length;
  const level = (a: number | null) =>
    a === null ? 'none' : a >= 0.999 ? 'up' : a >= 0.99 ? 'degraded' : 'down';
  const bars = uptime
    .map((d) => {
      const words = `${d.date}: ${d.availability === null ? 'no data' : percent(d.availability)}`;
      return `<span class="day day-${level(d.availability)}" title="${e(words)}"><span class="sr">${e(words)}</span></span>`;
    })
    .join('');
  const summary =
    mean === null
      ? `no measurement in the last ${uptime.length} days`
      : `${percent(mean)} uptime over ${measured.length} measured day${measured.length === 1 ? '' : 's'} of the last ${uptime.length}` +
        (objective === null
          ? ''
          : `; objective ${percent(objective)}: ${mean >= objective ? 'met' : 'not met'}`);
  return `<div class="uptime"><div class="bars">${bars}</div><p class="uptime-summary">${e(summary)}</p></div>`;
}

export function renderStatusPageHtml(model: StatusPageModel): string {
  const indicator = pageIndicator(model);
  const names = new Map(model.components.map((c) => [c.id, c.name]));
  const groups = [...new Set(model.components.map((c) => c.group))];
  const active = model.incidents.filter((i) => i.resolvedAt === null);
  const past = model.incidents.filter((i) => i.resolvedAt !== null);
  const componentRows = groups
    .map((group) => {
      const rows = model.components
        .filter((c) => c.group === group)
        .map(
          (c) =>
            `<li class="component status-${e(c.status)}"><span class="name">${e(c.name)}</span>${c.description ? ` <span class="description">${e(c.description)}</span>` : ''} <span class="status">${e(STATUS_WORDS[c.status])}</span>${uptimeBars(c.uptime, model.page.availabilityObjective)}</li>`,
        )
        .join('\n');
      return `${group === null ? '' : `<h3>${e(group)}</h3>\n`}<ul class="components">\n${rows}\n</ul>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(model.page.name)} status</title>
<link rel="alternate" type="application/atom+xml" title="${e(model.page.name)} incident history" href="history.atom">
<style>
body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#1d2733}
.banner{padding:1rem;border-radius:.4rem;color:#fff;background:#2e7d32}
.banner.minor{background:#f9a825;color:#1d2733}.banner.major{background:#ef6c00}.banner.critical{background:#c62828}
ul.components{list-style:none;padding:0}li.component{display:flex;flex-wrap:wrap;gap:.5rem;padding:.5rem 0;border-bottom:1px solid #ddd}
.uptime{flex-basis:100%}.bars{display:flex;gap:1px;height:1.5rem}.day{flex:1;border-radius:1px}.day-up{background:#2e7d32}.day-degraded{background:#ef6c00}.day-down{background:#c62828}.day-none{background:#ccc}
.uptime-summary{margin:.25rem 0 0;font-size:.85rem;color:#555}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.component .status{margin-left:auto}.status-operational .status{color:#2e7d32}.status-partial_outage .status,.status-degraded_performance .status{color:#ef6c00}.status-major_outage .status{color:#c62828}
.description{color:#667}.meta{color:#556;font-size:.9rem}article.incident{border-left:.3rem solid #ccc;padding-left:1rem;margin:1rem 0}
</style>
</head>
<body>
<header><h1>${e(model.page.name)}</h1></header>
<p class="banner ${e(indicator)}">${e(INDICATOR_DESCRIPTIONS[indicator])}</p>
<section id="incidents"><h2>Active incidents</h2>
${active.length ? active.map((i) => incidentHtml(i, names)).join('\n') : '<p>No active incidents.</p>'}
</section>
<section id="components"><h2>Components</h2>
${componentRows || '<p>No components.</p>'}
<p class="meta">Uptime history is not shown: no availability has been measured yet.</p>
</section>
<section id="history"><h2>Incident history</h2>
${past.length ? past.map((i) => incidentHtml(i, names)).join('\n') : '<p>No past incidents.</p>'}
</section>
<footer class="meta">Updated ${e(when(model.page.updatedAt))} · <a href="history.atom">Atom feed</a> · <a href="api/v2/summary.json">JSON API</a></footer>
</body>
</html>
`;
}
