/**
 * The DR document as GitHub-flavoured Markdown. Plan prose is kept as written (authors may use
 * Markdown in descriptions), except for what would break the document: `<` (raw HTML), table
 * pipes and line breaks in cells, and continuation lines inside list items.
 */
import { buildDocument } from './document.js';
import type { Block, Inline, ListItem, RenderedDocument, RenderInput } from './model.js';

/** The human-readable DR document, regenerated from the plan. Pure. */
export function renderMarkdown(loaded: RenderInput): string {
  return printMarkdown(buildDocument(loaded));
}

export function printMarkdown(doc: RenderedDocument): string {
  return doc.blocks.map((block) => printBlock(block, doc)).join('\n\n') + '\n';
}

type Context = 'flow' | 'cell';

function printBlock(block: Block, doc: RenderedDocument): string {
  switch (block.kind) {
    case 'heading':
      return `${'#'.repeat(block.level)} ${escapeText(oneLine(block.text))}`;
    case 'paragraph':
      return printInlines(block.content, doc, 'flow');
    case 'note':
      return printInlines(block.content, doc, 'flow')
        .split('\n')
        .map((line) => (line === '' ? '>' : `> ${line}`))
        .join('\n');
    case 'list':
      return block.items
        .map((item, i) => printItem(item, block.ordered ? `${i + 1}. ` : '- ', doc))
        .join('\n');
    case 'checklist':
      return block.items.map((item) => printItem({ content: item }, '- [ ] ', doc, 2)).join('\n');
    case 'table':
      return printTable(block.head, block.rows, doc);
    case 'code':
      return fenced(block.lang, block.text);
    case 'mermaid':
      return fenced('mermaid', block.text);
    case 'toc':
      return '';
  }
}

/**
 * A list item: continuation lines and nested blocks are indented to the item's content column.
 * Nested blocks follow without a blank line so that the list stays tight.
 */
function printItem(
  item: ListItem,
  marker: string,
  doc: RenderedDocument,
  indentWidth = marker.length,
): string {
  const pad = ' '.repeat(indentWidth);
  const content = indentRest(printInlines(item.content, doc, 'flow'), pad);
  const children = (item.children ?? []).map((child, i, all) => {
    const printed = indent(printBlock(child, doc), pad);
    // Two paragraphs in a row would merge without a blank line between them.
    const separate = i > 0 && child.kind === 'paragraph' && all[i - 1]!.kind === 'paragraph';
    return (separate ? '\n' : '') + printed;
  });
  return [marker + content, ...children].join('\n');
}

function printTable(head: string[], rows: Inline[][][], doc: RenderedDocument): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(head.map((h) => escapeCell(escapeText(h)))),
    line(head.map(() => '---')),
    ...rows.map((row) => line(head.map((_, i) => printInlines(row[i] ?? [], doc, 'cell')))),
  ].join('\n');
}

function printInlines(inlines: Inline[], doc: RenderedDocument, context: Context): string {
  // YAML block scalars end with a line break; it would leave an empty line behind.
  const out = inlines.map((inline) => printInline(inline, doc, context)).join('');
  return context === 'cell' ? out.trim() : out.trimEnd();
}

function printInline(inline: Inline, doc: RenderedDocument, context: Context): string {
  const wrap = (value: string) => (context === 'cell' ? escapeCell(value) : value);
  switch (inline.kind) {
    case 'text':
      return wrap(escapeText(inline.text));
    case 'strong': {
      const value = inline.text.trim();
      return value === '' ? '' : wrap(`**${escapeText(value).replace(/\*/g, '\\*')}**`);
    }
    case 'code':
      return wrap(codeSpan(inline.text));
    case 'ref': {
      const id = doc.anchors.get(inline.key);
      const label = escapeText(inline.text);
      return wrap(id === undefined ? label : `[${escapeBrackets(label)}](#${id})`);
    }
    case 'link':
      return wrap(
        inline.text === inline.href && !/[\s<>]/.test(inline.href)
          ? `<${inline.href}>`
          : `[${escapeBrackets(escapeText(inline.text))}](<${inline.href.replace(/[<>\s]/g, encodeURIComponent)}>)`,
      );
  }
}

/** Raw HTML in plan text would be rendered by many Markdown viewers; `&lt;` reads the same. */
function escapeText(value: string): string {
  return value.replace(/</g, '&lt;');
}

/** A table cell is one line, and `|` ends it. */
function escapeCell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function escapeBrackets(value: string): string {
  return value.replace(/[[\]]/g, (c) => `\\${c}`);
}

/** A code span whose delimiter is longer than any run of backticks inside it. */
function codeSpan(value: string): string {
  // Shell line continuations and line breaks: a code span is one line.
  const flat = value
    .replace(/\\\r?\n\s*/g, ' ')
    .replace(/\s*\r?\n\s*/g, ' ')
    .trim();
  if (flat === '') return '';
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  const padded = flat.startsWith('`') || flat.endsWith('`') ? ` ${flat} ` : flat;
  return `${ticks}${padded}${ticks}`;
}

/** A fenced block whose fence is longer than any run of backticks in the body, so the body stays verbatim. */
function fenced(lang: string, body: string): string {
  const longest = Math.max(0, ...(body.match(/`{3,}/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body.replace(/\n+$/, '')}\n${fence}`;
}

const oneLine = (value: string) => value.replace(/\s*\r?\n\s*/g, ' ');

function indent(value: string, pad: string): string {
  return value
    .split('\n')
    .map((line) => (line === '' ? '' : pad + line))
    .join('\n');
}

function indentRest(value: string, pad: string): string {
  const [first, ...rest] = value.split('\n');
  return [first, ...rest.map((line) => (line === '' ? '' : pad + line))].join('\n');
}
