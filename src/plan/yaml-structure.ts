/**
 * Checks of the YAML tree that must pass before it is turned into plain data: nesting depth,
 * duplicate keys, keys that are not names, and aliases (undefined, self-referencing, or
 * expanding into a "billion laughs"). One walk with its own stack, linear in the size of the
 * file: the YAML library's duplicate-key check compares every key with every other (minutes
 * for a plan of 20,000 services), and its conversion to data recurses, so both are kept from
 * ever seeing a tree this walk has refused.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  type Document,
  type LineCounter,
  type Node,
} from 'yaml';
import type { Finding } from './findings.js';

/** No plan needs more than a dozen levels; past this, a file is a mistake or an attack. */
export const MAX_DEPTH = 64;
/** Values a plan may expand to through aliases: generous for a real plan, tiny for memory. */
export const MAX_EXPANDED_VALUES = 100_000;

interface Frame {
  node: Node;
  depth: number;
  /** Values under the node, aliases expanded; summed as its children complete. */
  size: number;
  children: Node[];
  next: number;
  parent: Frame | undefined;
}

export function yamlStructureFindings(doc: Document, lines: LineCounter): Finding[] {
  const root = doc.contents;
  if (!root) return [];
  const at = (node: Node | null | undefined) => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    return { line, column: col };
  };
  const findings: Finding[] = [];
  // Anchors in document order (a later `&a` replaces an earlier one, as YAML says), and the
  // expanded size of each completed node, which tells a finished anchor from an open one.
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  // Set by a finding after which the walk cannot go on (too deep, an alias it cannot expand).
  let stop = false;
  let frame: Frame | undefined = open(root as Node, 1, undefined);

  function open(node: Node, depth: number, parent: Frame | undefined): Frame | undefined {
    if (depth > MAX_DEPTH) {
      stop = true;
      findings.push({
        rule: 'yaml-too-deep',
        severity: 'error',
        path: '',
        ...at(node),
        message: `the YAML is nested more than ${MAX_DEPTH} levels deep here; no plan needs that many`,
        hint: 'is this the right file? Check for brackets `[` or `{` that are never closed',
      });
      return undefined;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    const children: Node[] = [];
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as Node | null;
        const problem = keyProblem(key);
        if (problem) {
          findings.push({
            rule: 'invalid-key',
            severity: 'error',
            path: '',
            ...at(key ?? (pair.value as Node | null)),
            message: problem,
            hint: 'a key is a name such as `services` or `api`; quote it if it must hold other characters',
          });
        } else if (isScalar(key)) {
          const name = String(key.value);
          const first = seen.get(name);
          if (first) {
            findings.push({
              rule: 'duplicate-key',
              severity: 'error',
              path: '',
              ...at(key),
              message: `'${name}' appears twice in this mapping (first at line ${at(first).line}); YAML keeps only one of them`,
              hint: 'each key may appear once in a mapping; merge the two',
            });
          } else seen.set(name, key);
        }
        if (key && isCollection(key)) children.push(key);
        if (pair.value) children.push(pair.value as Node);
      }
    } else if (isCollection(node)) {
      for (const item of node.items) if (item) children.push(item as Node);
    }
    return { node, depth, size: 1, children, next: 0, parent };
  }

  while (frame) {
    if (stop) return findings;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++]!;
      if (isAlias(child)) {
        const size = aliasSize(child.source);
        if (size === undefined) continue;
        frame.size += size;
      } else {
        frame = open(child, frame.depth + 1, frame) ?? frame;
      }
      continue;
    }
    sizes.set(frame.node, frame.size);
    const done: Frame = frame;
    frame = done.parent;
    if (frame) frame.size += done.size;
    if (done.size > MAX_EXPANDED_VALUES) return [...findings, bomb(done.node)];
  }
  return findings;

  /** The expanded size of an alias's anchor, or undefined after reporting why there is none. */
  function aliasSize(name: string): number | undefined {
    const source = anchors.get(name);
    const alias = frameAlias(name);
    if (source === undefined) {
      stop = true;
      findings.push({
        rule: 'yaml-aliases',
        severity: 'error',
        path: '',
        ...at(alias),
        message: `*${name} refers to an anchor &${name} that is not defined before it`,
        hint: `define \`&${name}\` on the value to repeat, above this line, or correct the name`,
      });
      return undefined;
    }
    const size = sizes.get(source);
    if (size === undefined) {
      stop = true;
      findings.push({
        rule: 'yaml-aliases',
        severity: 'error',
        path: '',
        ...at(alias),
        message: `*${name} is inside the value &${name} names, so it would repeat itself without end`,
        hint: `move *${name} out of the value that carries &${name}`,
      });
      return undefined;
    }
    return size;
  }

  /** The alias node being expanded: the child just taken from the current frame. */
  function frameAlias(name: string): Node | undefined {
    const child = frame?.children[frame.next - 1];
    return isAlias(child) && child.source === name ? child : frame?.node;
  }

  function bomb(node: Node): Finding {
    return {
      rule: 'yaml-aliases',
      severity: 'error',
      path: '',
      ...at(node),
      message: `the aliases (*name) here expand to more than ${MAX_EXPANDED_VALUES.toLocaleString('en')} values, the pattern of a "billion laughs" attack; Lifeboat refuses to expand them`,
      hint: 'write the repeated parts out, or use fewer `*alias` references',
    };
  }
}

/** Why a mapping key cannot name anything, or undefined for a fine one. */
function keyProblem(key: Node | null): string | undefined {
  if (key === null || (isScalar(key) && key.value === null && !key.source))
    return 'a key is missing before the `:`';
  if (isScalar(key) && key.value === null) return `a key must be a name, not null (\`${key.source}\`)`;
  if (isMap(key)) return 'a key must be a name, not a mapping';
  if (isCollection(key)) return 'a key must be a name, not a list';
  if (isAlias(key)) return 'a key must be written out, not an alias (*name)';
  return undefined;
}
