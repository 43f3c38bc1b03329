/** Files and directories: restic stores and restores them itself, file by file. */
import { describeDirectory, ensureDirectory, observeDirectory } from '../directory.js';
import type { KindConfig, Store } from '../store.js';
import { DIRECTORY_HINT, type DirectoryTarget } from '../target.js';
import { filesSource } from './source.js';
import { resolveFilesTarget } from './target.js';

export const filesStore: Store<KindConfig<'files'>, DirectoryTarget> = {
  kind: 'files',
  protectable: true,
  label: 'files',
  source: (config, context) => filesSource(config, context),
  location: (config) => `: ${config.paths?.length ?? 0} path(s) readable`,

  databases: false,
  databaseOf: () => undefined,
  targetHint: DIRECTORY_HINT,
  resolveTarget: resolveFilesTarget,
  describeTarget: describeDirectory,
  unitDestination: (spec) => (spec.source ? 'the original paths' : `${spec.path}/<original path>`),
  async observeTarget(spec) {
    return observeDirectory(spec, {
      overSource:
        'write the backed-up files over the live ones at their original paths (files created since are kept)',
      into: (path) => `restore into ${path}; files of the same path are overwritten, others are kept`,
    });
  },
  async restore(_source, _config, spec, io) {
    ensureDirectory(spec);
    for (const unit of io.units) {
      await io.unit(unit, async () => {
        await io.restorePaths(unit, spec.path);
        return { bytes: unit.bytes };
      });
    }
    return undefined;
  },

  proof: 'fingerprint',
  tools: [],
};
