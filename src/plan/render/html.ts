/**
 * The DR document as one standalone HTML5 page: no scripts, no external resources, a small
 * stylesheet inline, so it can be mailed, archived or printed as it is. Every text from the plan
 * is escaped. The dependency graph stays Mermaid source in `<pre class="mermaid">`: a page that
 * loads mermaid.js draws it, and without it the reader still sees the edges.
 */
import { buildDocument } from './document.js';
import type { Block, Inline, ListItem, RenderedDocument, RenderInput } from './model.js';
import { generationStamp } from './sections/overview.js';

/** The DR document as HTML, regenerated from the plan. Pure. */
export function renderHtml(loaded: RenderInput): string {
  return printHtml(buildDocument(loaded), generationStamp(loaded));
}

const STYLE = `
  :root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --note: #f3f4f6; }
  @media (prefers-color-scheme: dark) { :root { --line: #374151; --note: #1f2937; } }
  body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 2rem; border-bottom: 2px solid var(--line); padding-bottom: .3rem; }
  h2 { margin-top: 2.5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
  table { border-collapse: collapse; margin: 1rem 0; width: 100%; font-size: .95rem; }
  th, td { border: 1px solid var(--line); padding: .35rem .6rem; text-align: left; vertical-align: top; }
  th { background: var(--note); }
  pre { background: var(--note); padding: .75rem 1rem; overflow-x: auto; border-radius: 4px; }
  code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
  blockquote { margin: 1rem 0; padding: .5rem 1rem; border-left: 4px solid var(--line); background: var(--note); }
  ul.checklist { list-style: none; padding-left: 1.2rem; }
  footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
  @media print { pre, table, blockquote { break-inside: avoid; } a { color: inherit; } }
`;

export function printHtml(doc: RenderedDocument, stamp: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="${escapeHtml(`lifeboat plan render: ${stamp}`)}">`,
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...doc.blocks.map((block) => printBlock(block, doc)),
    '</main>',
    `<footer>${escapeHtml(stamp)}</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function printBlock(block: Block, doc: RenderedDocument): string {
  switch (block.kind) {
    case 'heading': {
      const id = block.id === undefined ? '' : ` id="${escapeHtml(block.id)}"`;
      return `<h${block.level}${id}>${escapeHtml(block.text)}</h${block.level}>`;
    }
    case 'paragraph':
      return `<p>${printInlines(block.content, doc)}</p>`;
    case 'note':
      return `<blockquote><p>${printInlines(block.content, doc)}</p></blockquote>`;
    case 'list': {
      const tag = block.ordered ? 'ol' : 'ul';
      return `<${tag}>\n${block.items.map((item) => printItem(item, doc)).join('\n')}\n</${tag}>`;
    }
    case 'checklist':
      return `<ul class="checklist">\n${block.items
        .map((item) => `<li><label><input type="checkbox"> ${printInlines(item, doc)}</label></li>`)
        .join('\n')}\n</ul>`;
    case 'table':
      return [
        '<table>',
        `<thead><tr>${block.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
        '<tbody>',
        ...block.rows.map(
          (row) =>
            `<tr>${block.head.map((_, i) => `<td>${printInlines(row[i] ?? [], doc)}</td>`).join('')}</tr>`,
        ),
        '</tbody>',
        '</table>',
      ].join('\n');
    case 'code': {
      const lang = block.lang === '' ? '' : ` class="language-${escapeHtml(block.lang)}"`;
      return `<pre><code${lang}>${escapeHtml(block.text.replace(/\n+$/, ''))}</code></pre>`;
    }
    case 'mermaid':
      return `<pre class="mermaid">${escapeHtml(block.text)}</pre>`;
    case 'toc':
      return '';
  }
}

function printItem(item: ListItem, doc: RenderedDocument): string {
  const children = (item.children ?? []).map((child) => printBlock(child, doc)).join('\n');
  return `<li>${printInlines(item.content, doc)}${children === '' ? '' : `\n${children}\n`}</li>`;
}

function printInlines(inlines: Inline[], doc: RenderedDocument): string {
  return inlines
    .map((inline) => printInline(inline, doc))
    .join('')
    .replace(/(<br>\n)+$/, '');
}

function printInline(inline: Inline, doc: RenderedDocument): string {
  switch (inline.kind) {
    case 'text':
      return prose(inline.text);
    case 'strong':
      return `<strong>${escapeHtml(inline.text)}</strong>`;
    case 'code':
      return `<code>${escapeHtml(inline.text)}</code>`;
    case 'ref': {
      const id = doc.anchors.get(inline.key);
      return id === undefined
        ? escapeHtml(inline.text)
        : `<a href="#${escapeHtml(id)}">${escapeHtml(inline.text)}</a>`;
    }
    case 'link':
      // Only web and mail links become links: a `javascript:` URL in a plan stays text.
      return /^(https?:|mailto:)/i.test(inline.href)
        ? `<a href="${escapeHtml(inline.href)}">${escapeHtml(inline.text)}</a>`
        : escapeHtml(inline.text);
  }
}

/**
 * Plan prose, escaped; line breaks kept, and `code` spans shown as code since authors write
 * them in descriptions (the escaping happens first, so nothing from the plan becomes markup).
 */
function prose(value: string): string {
  return escapeHtml(value)
    .replace(/`([^`\n]+)`/g, '<code>$1</code>')
    .replace(/\r?\n/g, '<br>\n');
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
