/**
 * A command's output restores through its restore command (reading the stored file on
 * standard input) or, into a directory, as the stored file itself.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../errors.js';
import { ensureDirectory } from '../directory.js';
import { isInside } from '../paths.js';
import type { KindConfig, RestoreIO, Source, StreamedHash } from '../store.js';
import type { DirectoryTarget, TargetInput } from '../target.js';

export function resolveCommandTarget(input: TargetInput<KindConfig<'command'>>): DirectoryTarget {
  if (!input.isSource) return input.directory();
  if (input.config.restore === undefined) {
    throw new UsageError(
      `dataset '${input.dataset}' has no restore command, so it cannot be restored over its source`,
      {
        hint: 'add `restore:` to its source (a shell command reading the backup on standard input), or --to DIR to get the file back',
      },
    );
  }
  return { kind: 'directory', path: input.planDir, source: true };
}

/** Pipes the stored output into the restore command, or writes it back as a file; hashes it on its way. */
export async function restoreCommand(
  source: Source,
  config: KindConfig<'command'>,
  spec: DirectoryTarget,
  io: RestoreIO,
): Promise<StreamedHash> {
  ensureDirectory(spec);
  const unit = io.units[0]!;
  const hash = createHash('sha256');
  let bytes = 0;
  await io.unit(unit, async () => {
    if (config.restore !== undefined) {
      bytes = await io.stream(
        unit,
        (s) => source.restoreUnit(unit.filename, s, { kind: 'directory', path: spec.path }),
        { hash },
      );
      return { bytes, note: 'piped into the restore command' };
    }
    const file = join(spec.path, unit.filename);
    if (!isInside(file, spec.path))
      throw new UsageError(`the stored file name ${unit.filename} points outside ${spec.path}`);
    mkdirSync(dirname(file), { recursive: true });
    bytes = await io.stream(
      unit,
      (s) => pipeline(s, createWriteStream(file, { flags: io.force ? 'w' : 'wx' })),
      { hash },
    );
    return { bytes, note: `written to ${file}` };
  });
  return { sha256: hash.digest('hex'), bytes };
}
