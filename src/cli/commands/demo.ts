/**
 * lifeboat demo: the main job end to end on this machine. For now: check and render the two
 * customer plans shipped as examples, so that a first run shows what Lifeboat finds in a
 * hand-written DR plan and the document it renders back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../errors.js';
import { checkPlanFile } from '../../plan/check.js';
import { renderMarkdown } from '../../plan/render/markdown.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';

const EXAMPLES = ['opportunex', 'dating-profile-optimizer'];

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'demo',
    args,
    { out: { type: 'string', short: 'o' } },
    '[--out DIR] [--json]',
  );
  const out = parsed.string('out') ?? mkdtempSync(join(tmpdir(), 'lifeboat-demo-'));
  const results = EXAMPLES.map((name) => {
    const file = fileURLToPath(new URL(`../../../examples/${name}/lifeboat.yaml`, import.meta.url));
    const { loaded, errors, warnings } = checkPlanFile(file);
    const document = join(out, `${name}.md`);
    if (loaded.plan)
      writeFileSync(document, renderMarkdown({ plan: loaded.plan, contentHash: loaded.contentHash, file }));
    return {
      plan: file,
      errors: errors.length,
      warnings: warnings.length,
      rules: [...new Set([...errors, ...warnings].map((f) => f.rule))],
      document,
    };
  });
  if (parsed.flag('json')) process.stdout.write(JSON.stringify({ examples: results }, null, 2) + '\n');
  else
    for (const r of results) {
      process.stdout.write(
        `${r.plan}\n  plan check: ${r.errors} errors, ${r.warnings} warnings (${r.rules.join(', ')})\n  rendered:   ${r.document}\n`,
      );
    }
  return ExitCode.ok;
}
