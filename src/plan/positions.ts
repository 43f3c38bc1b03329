/**
 * Maps a path in the plan to a line and column in the YAML text, so that every finding
 * points where the user must look.
 */
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { PathSegment } from './findings.js';

export interface Position {
  line: number;
  column: number;
}

export class PositionIndex {
  /**
   * Each mapping's pairs by key, built on first use: a plan of thousands of services with a
   * finding for each would otherwise scan the mapping once per finding.
   */
  private readonly keys = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    /** The parsed YAML, for rules that look at how a value was written, not only at what it is. */
    readonly doc: Document | undefined,
    private readonly lines: LineCounter,
  ) {}

  /**
   * The position of the value at `path`, or of its key when `key` is set. When the path
   * does not exist (a missing field), the nearest existing ancestor.
   */
  locate(path: readonly PathSegment[], options: { key?: boolean } = {}): Position | undefined {
    let node: unknown = this.doc?.contents;
    let best: Position | undefined = this.at(node);
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = this.pairs(node).get(String(segment));
        if (!pair) return best;
        if (last && options.key) return this.at(pair.key) ?? best;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (node === undefined) return best;
      } else {
        return best;
      }
      best = this.at(node) ?? best;
    }
    return best;
  }

  private pairs(map: YAMLMap): Map<string, Pair> {
    let byKey = this.keys.get(map);
    if (byKey === undefined) {
      byKey = new Map();
      for (const pair of map.items) {
        // The first of duplicate keys, as the YAML reader keeps it.
        if (isPair(pair) && isScalar(pair.key) && !byKey.has(String(pair.key.value)))
          byKey.set(String(pair.key.value), pair);
      }
      this.keys.set(map, byKey);
    }
    return byKey;
  }

  private at(node: unknown): Position | undefined {
    const range = (node as Node | undefined)?.range;
    if (!range) return undefined;
    const { line, col } = this.lines.linePos(range[0]);
    return { line, column: col };
  }
}
