/**
 * The rendered DR document as data: a list of blocks built once from the plan, then printed
 * as Markdown (markdown.ts) or HTML (html.ts). Keeping the sections out of the printers means
 * each section is written once and both formats always carry the same content.
 *
 * Text that comes from the plan is kept as written. The Markdown printer escapes what would
 * break the structure (table pipes, line breaks in cells and list items); the HTML printer
 * escapes everything.
 */
import type { Plan } from '../schema.js';

/** What a renderer needs: the validated plan, the hash of its bytes and its file name. */
export interface RenderInput {
  plan: Plan;
  /** sha256 of the plan file, hex. */
  contentHash: string;
  file: string;
  /**
   * The errors `plan check` finds, when the document is rendered in spite of them (`plan
   * render --force`): they head the document, so that nobody takes it for a sound plan.
   */
  errors?: { message: string; line?: number | undefined }[];
}

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'strong'; text: string }
  | { kind: 'code'; text: string }
  /** A link to a heading of this document, by the heading's `key` (resolved when printing). */
  | { kind: 'ref'; key: string; text: string }
  /** A link to somewhere else (an URL from the plan). */
  | { kind: 'link'; href: string; text: string };

export interface ListItem {
  content: Inline[];
  /** Blocks nested under the item (a command under a numbered step). */
  children?: Block[];
}

export type Block =
  /** `key` names the heading for cross-references; `id` is its anchor, set by `finishDocument`. */
  | { kind: 'heading'; level: 1 | 2 | 3 | 4 | 5; text: string; key?: string; id?: string }
  | { kind: 'paragraph'; content: Inline[] }
  /** A remark set apart from the text (the generation stamp, a warning). */
  | { kind: 'note'; content: Inline[] }
  | { kind: 'list'; ordered: boolean; items: ListItem[] }
  | { kind: 'checklist'; items: Inline[][] }
  | { kind: 'table'; head: string[]; rows: Inline[][][] }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'mermaid'; text: string }
  /** Where the table of contents goes; filled by `finishDocument`. */
  | { kind: 'toc' };

export interface RenderedDocument {
  title: string;
  blocks: Block[];
  /** Heading key → anchor id, for `ref` inlines. */
  anchors: Map<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Builders, so that section code reads as the document it produces.

export const text = (value: string): Inline => ({ kind: 'text', text: value });
export const strong = (value: string): Inline => ({ kind: 'strong', text: value });
export const code = (value: string): Inline => ({ kind: 'code', text: value });
export const ref = (key: string, label: string): Inline => ({ kind: 'ref', key, text: label });
export const link = (href: string, label = href): Inline => ({ kind: 'link', href, text: label });

export const heading = (level: 1 | 2 | 3 | 4 | 5, title: string, key?: string): Block =>
  key === undefined ? { kind: 'heading', level, text: title } : { kind: 'heading', level, text: title, key };
export const paragraph = (...content: Inline[]): Block => ({ kind: 'paragraph', content });
export const note = (...content: Inline[]): Block => ({ kind: 'note', content });
export const bullets = (items: (Inline[] | ListItem)[]): Block => ({
  kind: 'list',
  ordered: false,
  items: items.map(item),
});
export const numbered = (items: (Inline[] | ListItem)[]): Block => ({
  kind: 'list',
  ordered: true,
  items: items.map(item),
});
export const codeBlock = (lang: string, body: string): Block => ({ kind: 'code', lang, text: body });
export const table = (head: string[], rows: Inline[][][]): Block => ({ kind: 'table', head, rows });

function item(value: Inline[] | ListItem): ListItem {
  return Array.isArray(value) ? { content: value } : value;
}

/** `- **Label**: value` lines, skipping the labels whose value is missing. */
export function fields(entries: [label: string, value: Inline[] | string | undefined][]): Block[] {
  const present = entries.filter(
    (e): e is [string, Inline[] | string] => e[1] !== undefined && e[1].length > 0,
  );
  if (present.length === 0) return [];
  return [
    bullets(
      present.map(([label, value]) => [
        strong(label),
        text(': '),
        ...(typeof value === 'string' ? [text(value)] : value),
      ]),
    ),
  ];
}

/** A table cell from optional text: empty when missing. */
export const cell = (value: string | undefined): Inline[] =>
  value === undefined || value === '' ? [] : [text(value)];

/**
 * A table without the columns that no row fills (a vendor list with no account managers
 * shows no "Account manager" column). The first column is always kept.
 */
export function compactTable(head: string[], rows: Inline[][][]): Block {
  const keep = head.map((_, i) => i === 0 || rows.some((row) => (row[i]?.length ?? 0) > 0));
  return table(
    head.filter((_, i) => keep[i]),
    rows.map((row) => row.filter((_, i) => keep[i])),
  );
}

/** Joins inline runs with a separator, e.g. a list of links. */
export function joined(parts: Inline[][], separator = ', '): Inline[] {
  return parts.flatMap((part, i) => (i === 0 ? part : [text(separator), ...part]));
}

// ---------------------------------------------------------------------------------------------
// Anchors and the table of contents

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to `-`. */
export function slug(title: string): string {
  const s = title
    .toLowerCase()
    .trim()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
  return s === '' ? 'section' : s;
}

/**
 * Gives every heading a unique anchor (`x`, `x-1`, `x-2` as GitHub does), records the keyed
 * ones, and puts a table of contents of the level-2 headings in place of the `toc` block.
 */
export function finishDocument(title: string, blocks: Block[]): RenderedDocument {
  const anchors = new Map<string, string>();
  const used = new Map<string, number>();
  const contents: ListItem[] = [];
  const finished = blocks.map((block) => {
    if (block.kind !== 'heading') return block;
    const base = slug(block.text);
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    const id = n === 0 ? base : `${base}-${n}`;
    if (block.key !== undefined) anchors.set(block.key, id);
    if (block.level === 2) {
      const key = block.key ?? `toc:${id}`;
      anchors.set(key, id);
      contents.push({ content: [ref(key, block.text)] });
    }
    return { ...block, id };
  });
  return {
    title,
    anchors,
    blocks: finished.flatMap((block) =>
      block.kind === 'toc'
        ? contents.length > 1
          ? [
              { kind: 'heading', level: 2, text: 'Table of Contents', id: 'table-of-contents' } as Block,
              numbered(contents),
            ]
          : []
        : [block],
    ),
  };
}
