/** Files and directories: restic stores and restores them itself, file by file. */
import { describeDirectory, observeDirectory } from '../directory.js';
import { STAGING_MARK, type KindConfig, type Store } from '../store.js';
import { DIRECTORY_HINT } from '../target.js';
import { clearFilesLeftovers, restoreFiles } from './restore.js';
import { filesSource } from './source.js';
import { resolveFilesTarget, type FilesTarget } from './target.js';

export const filesStore: Store<KindConfig<'files'>, FilesTarget> = {
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
  unitDestination: (spec) =>
    spec.source ? 'the original paths' : `${spec.path}/<path below the common root of the dataset's paths>`,
  async observeTarget(spec) {
    return observeDirectory(spec, {
      overSource:
        'restore a copy beside the live paths and prove it, then rename each restored file over the live one of the same path; each live file replaced is kept in a <path>__lifeboat_replaced_<id> tree beside them, files created since the backup are kept',
      into: (path) =>
        `restore a copy beside ${path} and prove it, then rename its files into ${path}: files of the same path are replaced (the old ones kept in ${path}__lifeboat_replaced_<id>), others are kept`,
      // A killed restore's copy inside a mount point: removed before this one writes.
      ignore: (name) => name.includes(STAGING_MARK),
    });
  },
  restore: (_source, _config, spec, io) => restoreFiles(spec, io),
  clearLeftovers: async (spec) => clearFilesLeftovers(spec),

  proof: 'fingerprint',
  tools: [],
};
