/**
 * flow-comma: free text cut in two by a comma inside `[ ... ]`. In a flow sequence an unquoted
 * comma ends the item, so `checklist: [Restore the database, then restart the API]` is two
 * items, the second a fragment. Read from the YAML, since the parsed plan no longer shows it.
 */
import { isCollection, isMap, isPair, isScalar, isSeq, Scalar, type Node } from 'yaml';
import type { PathSegment } from '../findings.js';
import type { Rule, RuleHit } from './rule.js';

/** Words that continue a sentence rather than start an item of a list. */
const CONTINUATION =
  /^(and|or|but|then|so|nor|plus|etc\.?|e\.g\.|i\.e\.|including|except|which|who|where|when|while|if|unless|because|otherwise)(\s|$)/i;

export const flowComma: Rule = {
  id: 'flow-comma',
  severity: 'warning',
  summary: 'Free text split in two by an unquoted comma inside `[ ... ]`.',
  check({ yaml }) {
    const root = yaml?.contents;
    if (!root) return [];
    const hits: RuleHit[] = [];
    const stack: { node: Node; path: PathSegment[] }[] = [{ node: root as Node, path: [] }];
    while (stack.length > 0) {
      const { node, path } = stack.pop()!;
      if (isMap(node)) {
        for (const pair of node.items)
          if (isPair(pair) && isScalar(pair.key) && isCollection(pair.value))
            stack.push({ node: pair.value, path: [...path, String(pair.key.value)] });
      } else if (isSeq(node)) {
        if (node.flow) hits.push(...splitItems(node.items, path));
        node.items.forEach((item, i) => {
          if (isCollection(item)) stack.push({ node: item, path: [...path, i] });
        });
      }
    }
    return hits;
  },
};

function splitItems(items: unknown[], path: PathSegment[]): RuleHit[] {
  const plain = items.map((item) =>
    isScalar(item) && item.type === Scalar.PLAIN && item.source !== undefined ? item.source : undefined,
  );
  // Only lists of text: a list of ids (`[api, db]`) has no spaces and is what `[ ... ]` is for.
  if (!plain.some((text) => text !== undefined && /\s/.test(text))) return [];
  const hits: RuleHit[] = [];
  for (let i = 1; i < plain.length; i++) {
    const previous = plain[i - 1];
    const text = plain[i];
    if (previous === undefined || text === undefined) continue;
    const thousands = /\d$/.test(previous) && /^\d{3}(\D|$)/.test(text);
    if (!CONTINUATION.test(text) && !thousands) continue;
    const joined = `${previous}${thousands ? ',' : ', '}${text}`;
    hits.push({
      path: [...path, i],
      message: `'${text}' reads as the rest of the item before it: inside \`[ ... ]\` an unquoted comma ends an item`,
      hint: `quote the text to keep it whole: "${joined}", or write the list one item per line with \`- \``,
    });
  }
  return hits;
}
