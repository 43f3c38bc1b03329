/** Any command's output: Lifeboat cannot look inside it, so its checks prove a restored copy. */
import { join } from 'node:path';
import { describeDirectory, observeDirectory } from '../directory.js';
import type { KindConfig, Store } from '../store.js';
import { DIRECTORY_HINT, type DirectoryTarget } from '../target.js';
import { commandSource } from './source.js';
import { resolveCommandTarget, restoreCommand } from './target.js';

export const commandStore: Store<KindConfig<'command'>, DirectoryTarget> = {
  kind: 'command',
  protectable: true,
  label: 'command',
  source: (config, context) => commandSource(config, context),
  location: () => '',

  databases: false,
  databaseOf: () => undefined,
  targetHint: DIRECTORY_HINT,
  resolveTarget: resolveCommandTarget,
  describeTarget: describeDirectory,
  unitDestination: (spec, unit) => (spec.source ? 'the restore command' : join(spec.path, unit.filename)),
  async observeTarget(spec) {
    return observeDirectory(spec, {
      overSource: 'run the restore command against the live system',
      into: (path) => `restore into ${path}; a file of the same name is overwritten`,
    });
  },
  restore: restoreCommand,

  // A second run of the command is no measure of the copy: whether the bytes match is reported only.
  proof: 'streamed-hash',
  tools: [],
};
