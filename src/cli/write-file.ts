/**
 * Writes a file whole or not at all: a temporary file beside it, then a rename. A reader (a
 * browser reloading the DR document, node_exporter's textfile collector, which reads only
 * `*.prom`) may look at any moment and must never see half a file.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

export function writeFileAtomically(target: string, content: string): void {
  const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${target}: ${code ?? String(error)}`, {
      cause: error,
      hint: code === 'ENOENT' ? 'create its directory first' : 'check the path and its permissions',
    });
  }
}
