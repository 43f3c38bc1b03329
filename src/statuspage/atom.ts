/**
 * The incident history as an Atom feed (RFC 4287): one entry per incident, its updates in the
 * content, newest first. Every text is escaped for XML (escape-html's five entities are XML's).
 */
import escapeHtml from 'escape-html';
import type { StatusPageModel } from './model.js';

const e = (text: string): string => escapeHtml(text);

/** `baseUrl`: where the page is served (the public URL, else the address it was asked at). */
export function renderAtomFeed(model: StatusPageModel, baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  const entries = model.incidents
    .map((incident) => {
      const text = incident.updates.map((u) => `${u.createdAt} ${u.status}: ${u.body}`).join('\n\n');
      return `  <entry>
    <id>urn:uuid:${e(incident.id)}</id>
    <title>${e(`${incident.name} (${incident.status})`)}</title>
    <updated>${e(incident.updatedAt)}</updated>
    <published>${e(incident.createdAt)}</published>
    <link rel="alternate" type="text/html" href="${e(`${base}/#incident-${incident.id}`)}"/>
    <content type="text">${e(text)}</content>
  </entry>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${e(`${base}/history.atom`)}</id>
  <title>${e(`${model.page.name} status: incident history`)}</title>
  <updated>${e(model.page.updatedAt)}</updated>
  <author><name>${e(model.page.name)}</name></author>
  <link rel="self" type="application/atom+xml" href="${e(`${base}/history.atom`)}"/>
  <link rel="alternate" type="text/html" href="${e(`${base}/`)}"/>
${entries}
</feed>
`;
}
