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
            `<li class="component status-${e(c.status)}"><span class="name">${e(c.name)}</span>${c.description ? ` <span class="description">${e(c.description)}</span>` : ''} <span class="status">${e(STATUS_WORDS[c.status])}</span></li>`,
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
ul.components{list-style:none;padding:0}li.component{display:flex;gap:.5rem;padding:.5rem 0;border-bottom:1px solid #ddd}
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
