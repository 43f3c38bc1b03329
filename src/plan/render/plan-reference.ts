/**
 * docs/plan.md: the reference of every section and key of lifeboat.yaml, generated from the JSON
 * Schema (itself generated from the zod schema), after a hand-written preamble. Pure.
 *
 * A mapping that appears in several places with the same keys (a runbook step, an `expect`) is
 * documented once, where it first appears, and linked from the others.
 */
import { z } from 'zod';
import { ZERO, type JsonSchema } from '../json-schema.js';
import { Cadence, Duration, DurationRange, Id, SecretRef } from '../schema.js';
import { executionLine } from '../execution.js';
import { slug } from './model.js';
import { REFERENCE_PREAMBLE } from './plan-reference-preamble.js';

/** Named value formats, recognised by their pattern, each linked to its part of the preamble. */
const NAMED_FORMATS = new Map<string, string>(
  (
    [
      [Id, '[id](#ids)'],
      [Duration, '[duration](#durations)'],
      [DurationRange, '[duration or range](#durations)'],
      [Cadence, '[cadence](#cadences)'],
      [SecretRef, '[secret reference](#secret-references)'],
    ] as const
  ).map(([schema, name]) => [String((z.toJSONSchema(schema) as JsonSchema).pattern), name]),
);
const DATE_PATTERN = '^\\d{4}-\\d{2}(-\\d{2})?$';

interface Section {
  /** `datasets.<id>.backup` */
  path: string;
  depth: number;
  schema: JsonSchema;
  /** For a member of a union told apart by `type`: its value, e.g. `postgres`. */
  variant?: string;
  /** The value may also be something else than this mapping (an id, a plain value). */
  alternative?: boolean;
  /** The description given where the mapping is used, when the mapping has none of its own. */
  description?: string;
  anchor: string;
}

type Found = { path: string; schema: JsonSchema; variant?: string; alternative?: boolean };

export function renderPlanReference(schema: JsonSchema): string {
  const sections: Section[] = [];
  const canonical = new Map<string, Section>();
  collect(schema, '', 0, undefined, sections, canonical);
  const linkFor = (object: JsonSchema) => canonical.get(shapeKey(object))?.anchor;

  const out: string[] = [REFERENCE_PREAMBLE.trimEnd(), '', '## Top-level keys', ''];
  if (typeof schema.description === 'string') out.push(schema.description, '');
  out.push(keyTable(schema, linkFor), '');
  const told = new Set<string>();
  for (const section of sections) {
    if (section.depth === 0) continue;
    const heading = `${section.depth === 1 ? '##' : '###'} \`${section.path}\`${section.variant === undefined ? '' : ` with \`type: ${section.variant}\``}`;
    out.push(heading, '');
    const description = (section.schema.description as string | undefined) ?? section.description;
    if (description !== undefined) out.push(description, '');
    // Once per top-level key (probes have a section per type): what Lifeboat runs of it today.
    const top = section.path.split('.')[0]!;
    const execution = section.depth === 1 && !told.has(top) ? executionLine(top) : undefined;
    if (execution !== undefined) out.push(execution, '');
    if (section.depth === 1) told.add(top);
    const shape = section.alternative ? 'a plain value or a mapping' : 'a mapping';
    if (section.path.endsWith('>')) {
      out.push(`Keyed by ${keyName(section.path)}; each value is ${shape} with the keys below.`, '');
    } else if (section.alternative) {
      out.push(`Written as a plain value, or as a mapping with the keys below.`, '');
    }
    out.push(keyTable(section.schema, linkFor), '');
  }
  return out.join('\n');
}

/** Depth-first, in key order: each mapping's section, then the mappings inside it. */
function collect(
  schema: JsonSchema,
  path: string,
  depth: number,
  description: string | undefined,
  sections: Section[],
  canonical: Map<string, Section>,
): void {
  for (const found of objectsIn(schema, path)) {
    const key = shapeKey(found.schema);
    if (canonical.has(key)) continue;
    const title = `${found.path}${found.variant === undefined ? '' : ` with type: ${found.variant}`}`;
    const section: Section = {
      ...found,
      depth,
      anchor: slug(title),
      ...(description === undefined ? {} : { description }),
    };
    canonical.set(key, section);
    sections.push(section);
    for (const [name, child] of Object.entries(properties(found.schema))) {
      const childPath = found.path === '' ? name : `${found.path}.${name}`;
      collect(child, childPath, depth + 1, child.description as string | undefined, sections, canonical);
    }
  }
}

/** The mappings with named keys that a value can be: itself, list items, map values, union members. */
function objectsIn(schema: JsonSchema, path: string): Found[] {
  if (isObject(schema)) return [{ path, schema }];
  if (schema.type === 'array' && isSchema(schema.items)) return objectsIn(schema.items, `${path}[]`);
  if (isRecord(schema))
    return objectsIn(schema.additionalProperties as JsonSchema, `${path}.${recordKey(schema)}`);
  if (Array.isArray(schema.anyOf)) {
    const options = (schema.anyOf as JsonSchema[]).map((option) => objectsIn(option, path));
    const alternative = options.some((found) => found.length === 0);
    return options
      .flat()
      .map((found) => (alternative && found.path === path ? { ...found, alternative } : found));
  }
  if (Array.isArray(schema.oneOf)) {
    return (schema.oneOf as JsonSchema[]).flatMap((option) =>
      objectsIn(option, path).map((found) => {
        const variant = discriminator(option);
        return found.path === path && variant !== undefined ? { ...found, variant } : found;
      }),
    );
  }
  return [];
}

function keyTable(schema: JsonSchema, linkFor: (object: JsonSchema) => string | undefined): string {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties(schema)).map(([name, child]) => {
    const { text, fallback } = splitDefault((child.description as string | undefined) ?? '');
    return [
      `\`${name}\`${required.has(name) ? ' (required)' : ''}`,
      typeOf(child, linkFor),
      fallback ?? '',
      text,
    ];
  });
  return [
    '| Key | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** A short description of what a value may be, with links to the mappings and formats. */
function typeOf(schema: JsonSchema, linkFor: (object: JsonSchema) => string | undefined): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.enum))
    return `one of ${(schema.enum as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`;
  const duration = zeroOrDuration(schema);
  if (duration) return typeOf(duration, linkFor);
  if (Array.isArray(schema.anyOf))
    return unique((schema.anyOf as JsonSchema[]).map((o) => typeOf(o, linkFor))).join(' or ');
  if (Array.isArray(schema.oneOf)) {
    const kinds = (schema.oneOf as JsonSchema[]).map((option) => {
      const anchor = linkFor(option);
      const label = `\`${discriminator(option) ?? 'mapping'}\``;
      return anchor === undefined ? label : `[${label}](#${anchor})`;
    });
    return `mapping, by \`type\`: ${kinds.join(', ')}`;
  }
  if (Array.isArray(schema.type)) return (schema.type as string[]).join(' or ');
  switch (schema.type) {
    case 'string': {
      const pattern = schema.pattern as string | undefined;
      if (pattern !== undefined) {
        if (NAMED_FORMATS.has(pattern)) return NAMED_FORMATS.get(pattern)!;
        if (pattern === DATE_PATTERN) return '[date](#dates)';
        return `text matching \`${pattern}\``;
      }
      return schema.minLength === 1 ? 'text' : 'string';
    }
    case 'integer':
    case 'number':
      return `${schema.type === 'integer' ? 'integer' : 'number'}${bounds(schema)}`;
    case 'boolean':
      return '`true` or `false`';
    case 'array': {
      const items = isSchema(schema.items) ? typeOf(schema.items, linkFor) : 'values';
      return `list of ${items}${typeof schema.minItems === 'number' && schema.minItems > 0 ? ` (at least ${schema.minItems})` : ''}`;
    }
    case 'object': {
      if (isObject(schema)) {
        const anchor = linkFor(schema);
        return anchor === undefined ? 'mapping' : `[mapping](#${anchor})`;
      }
      if (isRecord(schema)) {
        const names = schema.propertyNames as JsonSchema | undefined;
        const keys =
          names?.pattern !== undefined && NAMED_FORMATS.get(names.pattern as string) === '[id](#ids)'
            ? 'id'
            : 'name';
        return `map of ${keys} → ${typeOf(schema.additionalProperties as JsonSchema, linkFor)}`;
      }
      return 'mapping';
    }
  }
  return 'any value';
}

/**
 * A duration, which also accepts the bare number 0 (json-schema.ts): named by its format
 * alone, since the preamble says that `0` stands for zero.
 */
function zeroOrDuration(schema: JsonSchema): JsonSchema | undefined {
  const options = schema.anyOf;
  if (!Array.isArray(options) || options.length !== 2) return undefined;
  const [format, zero] = options as JsonSchema[];
  return JSON.stringify(zero) === JSON.stringify(ZERO) && format?.type === 'string' ? format : undefined;
}

function bounds(schema: JsonSchema): string {
  const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
  if (minimum !== undefined && maximum !== undefined) return ` from ${minimum} to ${maximum}`;
  if (minimum !== undefined) return ` ≥ ${minimum}`;
  if (maximum !== undefined) return ` ≤ ${maximum}`;
  return '';
}

/** "… Default: 3." → the default in its own column, the rest as the description. */
function splitDefault(description: string): { text: string; fallback?: string } {
  const match = /\s*Default: (.+?)(?:\.(?=\s|$)|$)/.exec(description);
  if (!match) return { text: description };
  return {
    text: (description.slice(0, match.index) + description.slice(match.index + match[0].length)).trim(),
    fallback: match[1]!,
  };
}

const cell = (value: string) => value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const unique = (values: string[]) => [...new Set(values)];

function properties(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
}
function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
function isObject(schema: JsonSchema): boolean {
  return schema.type === 'object' && isSchema(schema.properties);
}
function isRecord(schema: JsonSchema): boolean {
  return schema.type === 'object' && !isSchema(schema.properties) && isSchema(schema.additionalProperties);
}
function recordKey(schema: JsonSchema): string {
  const names = schema.propertyNames as JsonSchema | undefined;
  return names?.pattern !== undefined && NAMED_FORMATS.get(names.pattern as string) === '[id](#ids)'
    ? '<id>'
    : '<name>';
}
function keyName(path: string): string {
  return path.endsWith('<id>') ? '[id](#ids)' : 'name';
}
/** The `type` value that picks this member of a union (a constant, or the first of an enum). */
function discriminator(option: JsonSchema): string | undefined {
  const type = properties(option).type;
  if (type === undefined) return undefined;
  if (type.const !== undefined) return String(type.const);
  return Array.isArray(type.enum) ? (type.enum as unknown[]).map(String).join(`\`, \``) : undefined;
}
/** Two mappings are the same when their keys and types are, whatever each use says about it. */
function shapeKey(schema: JsonSchema): string {
  return JSON.stringify({ ...schema, description: undefined });
}
