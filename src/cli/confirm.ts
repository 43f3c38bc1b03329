/**
 * Typed confirmation before an action that replaces data: on a terminal the user types a
 * word (the dataset's name), which a reflexive Enter or `y` cannot do; without a terminal
 * (a script, CI) only an explicit `--yes` confirms. Anything else is a RefusedError (exit 4).
 */
import { createInterface } from 'node:readline/promises';
import { RefusedError } from '../errors.js';

export interface ConfirmOptions {
  /** What the user must type. */
  expected: string;
  /** What is about to happen, printed before the question. */
  message: string;
  /** `--yes` was given: confirmed without asking. */
  yes: boolean;
  /** Default: process.stdin. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where the question goes. Default: process.stderr (stdout stays for results). */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
}

export async function confirmTyped(options: ConfirmOptions): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stderr;
  if (options.yes) {
    output.write(`${options.message}\nConfirmed by --yes.\n`);
    return;
  }
  if (input.isTTY !== true || output.isTTY !== true) {
    throw new RefusedError(
      'this needs a typed confirmation and there is no terminal to ask on; --yes confirms without one',
      {
        hint: 'add --yes (with --force) to confirm when running without a terminal',
      },
    );
  }
  output.write(`${options.message}\n`);
  const rl = createInterface({ input, output, terminal: true });
  try {
    const answer = await rl.question(`Type ${options.expected} to confirm (anything else cancels): `);
    if (answer.trim() !== options.expected) {
      throw new RefusedError(
        `not confirmed: you typed ${JSON.stringify(answer.trim())}, not ${options.expected}`,
        {
          hint: 'nothing was changed',
        },
      );
    }
  } finally {
    rl.close();
  }
}
