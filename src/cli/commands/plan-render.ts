/** lifeboat plan render: the human-readable DR document, regenerated from the plan (Markdown or HTML). */
import { resolve } from 'node:path';
import { ExitCode, PlanInvalidError, UsageError } from '../../errors.js';
import { checkLoadedPlan } from '../../plan/check.js';
import { loadPlanFile, planPath, type LoadedPlan } from '../../plan/load.js';
import { renderHtml } from '../../plan/render/html.js';
import { renderMarkdown } from '../../plan/render/markdown.js';
import type { Plan } from '../../plan/schema.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { displayPath } from '../findings-output.js';
import { writeFileAtomically } from '../write-file.js';

const USAGE = '[--plan FILE] [--format md|html] [-o FILE] [--force] [--json]';

type Format = 'md' | 'html';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'plan render',
    args,
    {
      format: {
        type: 'enum',
        values: ['md', 'markdown', 'html'],
        short: 'f',
        help: 'the document format. Default: html when -o ends in .html, md otherwise',
      },
      output: {
        type: 'string',
        value: 'FILE',
        short: 'o',
        help: 'write the document to FILE (atomically). Default: stdout',
      },
      force: {
        type: 'boolean',
        help: 'render a plan that has errors, listed at the head of the document. Default: refuse (exit 1)',
      },
    },
    USAGE,
    { positionals: 1 },
  );
  const output = parsed.string('output');
  const format = chooseFormat(parsed.string('format'), output);
  const loaded = loadValidPlan(planPath(parsed.string('plan') ?? parsed.positionals[0]));
  // A document is what people follow at 3 a.m.: one of a plan with errors is refused, or says so.
  const { errors } = checkLoadedPlan(loaded);
  if (errors.length > 0 && !parsed.flag('force')) {
    for (const finding of errors)
      process.stderr.write(
        `${displayPath(loaded.file)}:${finding.line ?? 1}:${finding.column ?? 1}: ${finding.message}\n`,
      );
    throw new PlanInvalidError(
      `${displayPath(loaded.file)} has ${errors.length} error${errors.length === 1 ? '' : 's'}: no document rendered`,
      {
        hint: `fix them (lifeboat plan check --plan ${displayPath(loaded.file)}), or render anyway with --force: the errors then head the document`,
      },
    );
  }
  const input = {
    plan: loaded.plan,
    contentHash: loaded.contentHash,
    file: loaded.file,
    ...(errors.length > 0 ? { errors: errors.map((e) => ({ message: e.message, line: e.line })) } : {}),
  };
  const document = format === 'html' ? renderHtml(input) : renderMarkdown(input);
  const bytes = Buffer.byteLength(document);

  if (output === undefined) {
    // --json without -o: the document travels inside the JSON, so stdout stays one JSON value.
    if (parsed.flag('json')) {
      process.stdout.write(
        JSON.stringify(
          {
            file: null,
            plan: loaded.file,
            format,
            bytes,
            contentHash: loaded.contentHash,
            content: document,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      process.stdout.write(document);
    }
    return ExitCode.ok;
  }

  const target = resolve(output);
  writeFileAtomically(target, document);
  if (parsed.flag('json')) {
    process.stdout.write(
      JSON.stringify(
        { file: target, plan: loaded.file, format, bytes, contentHash: loaded.contentHash },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(
      `wrote ${displayPath(target)} (${format}, ${bytes} bytes, plan sha256:${loaded.contentHash.slice(0, 12)})\n`,
    );
  }
  return ExitCode.ok;
}

function chooseFormat(option: string | undefined, output: string | undefined): Format {
  if (option === undefined) return output !== undefined && /\.html?$/i.test(output) ? 'html' : 'md';
  const normalized = option.toLowerCase();
  if (normalized === 'md' || normalized === 'markdown') return 'md';
  if (normalized === 'html') return 'html';
  throw new UsageError(`plan render: unknown format '${option}'`, {
    hint: `use --format md or --format html; usage: lifeboat plan render ${USAGE}`,
  });
}

/**
 * The plan, or PlanInvalidError after printing the schema errors as `file:line:column message`
 * (the full report with hints is `lifeboat plan check`). Used by the commands that need a plan
 * the schema accepts.
 */
export function loadValidPlan(file: string): LoadedPlan & { plan: Plan } {
  const loaded = loadPlanFile(file);
  if (loaded.plan !== undefined) return loaded as LoadedPlan & { plan: Plan };
  const errors = loaded.findings.filter((f) => f.severity === 'error');
  for (const finding of errors) {
    process.stderr.write(
      `${displayPath(file)}:${finding.line ?? 1}:${finding.column ?? 1}: ${finding.message}\n`,
    );
  }
  throw new PlanInvalidError(
    `${displayPath(file)} is not a valid plan (${errors.length} error${errors.length === 1 ? '' : 's'})`,
    {
      hint: `run 'lifeboat plan check --plan ${displayPath(file)}' for the details and hints`,
      details: {
        file,
        errors: errors.map(({ rule, message, path, line, column }) => ({
          rule,
          message,
          path,
          line,
          column,
        })),
      },
    },
  );
}

/** Write to a temporary file beside the target, then rename: a reader never sees half a document. */
