/**
 * Any command's output (an Elasticsearch export, cluster manifests): the producer is
 * `sh -c COMMAND`, the restore pipes the stored file into `sh -c RESTORE`. Lifeboat cannot
 * look inside such data, so a restored copy is proven by the dataset's verify checks, not
 * by a fingerprint.
 */
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { UsageError } from '../../errors.js';
import { newFingerprint } from '../fingerprint.js';
import type { BackupUnit, RestoreTarget, Source, SourceContext, KindConfig } from '../store.js';
import { consuming, pipeProducer, runTool, toolFailed } from '../../system/tool.js';

/** What the dump needs of the plan's source (its secrets already resolved by the caller). */
export type CommandSourceConfig = Pick<KindConfig<'command'>, 'type' | 'command' | 'restore' | 'filename'>;

export function commandSource(config: CommandSourceConfig, context: SourceContext): Source {
  const filename = config.filename ?? `${context.dataset}.out`;
  // Run in the plan's directory, like fingerprint() and the restore command: the producer has
  // no cwd of its own (restic's stream backup spawns it), so the shell changes there first.
  const producer =
    context.baseDir === undefined
      ? { command: 'sh', args: ['-c', config.command] }
      : {
          command: 'sh',
          args: ['-c', `cd "$LIFEBOAT_PLAN_DIR" && ${config.command}`],
          env: { LIFEBOAT_PLAN_DIR: context.baseDir },
        };
  return {
    type: 'command',

    /** Nothing to reach without running the command, which takes as long as a backup. */
    async check() {
      await runTool('sh', ['-c', 'exit 0']);
    },

    async units(): Promise<BackupUnit[]> {
      return [{ kind: 'stream', filename, producer, description: `output of: ${config.command}` }];
    },

    /** Runs the command once more and hashes its output: meaningful only for output that is stable. */
    async fingerprint() {
      const hash = createHash('sha256');
      let bytes = 0;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done();
        },
      });
      await pipeProducer(producer, sink, { cwd: context.baseDir });
      const fingerprint = newFingerprint('command');
      fingerprint.items[filename] = { bytes, sha256: hash.digest('hex') };
      return fingerprint;
    },

    /**
     * The restore command gets the target as LIFEBOAT_RESTORE_URL (a server) or
     * LIFEBOAT_RESTORE_DIR (a directory, also its working directory).
     */
    restoreUnit(unit: string, input: Readable, target: RestoreTarget) {
      return consuming(input, async () => {
        if (unit !== filename)
          throw new UsageError(`${unit} is not the stored file of this command dataset (${filename})`);
        if (config.restore === undefined) {
          throw new UsageError(`dataset ${context.dataset} has no restore command`, {
            hint: 'Add `restore:` to its source: a shell command that reads the backup on standard input.',
          });
        }
        const env: Record<string, string> =
          target.kind === 'server'
            ? { LIFEBOAT_RESTORE_URL: target.url }
            : { LIFEBOAT_RESTORE_DIR: target.path };
        const cwd = target.kind === 'directory' ? target.path : context.baseDir;
        const result = await runTool('sh', ['-c', config.restore], { env, cwd, stdin: input });
        if (result.code !== 0)
          throw toolFailed('sh', result, `the restore command of dataset ${context.dataset}`);
      });
    },

    async fingerprintOf() {
      throw new UsageError(
        `a restored copy of command dataset ${context.dataset} cannot be measured by Lifeboat`,
        {
          hint: 'Prove it with a verify check (a command run against the restored copy).',
        },
      );
    },
  };
}
