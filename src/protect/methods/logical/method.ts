/**
 * The logical method: the source's dump streamed into restic. Retention, restore and proof
 * are the shared restic paths (prune.ts, restore.ts, verify.ts), so it adds none of its own.
 */
import type { ProtectionMethod } from '../method.js';
import { backupLogical } from './backup.js';

export const logicalMethod: ProtectionMethod = {
  kind: 'logical',
  planBackup: ({ id, source, repository }) => ({
    dataset: id,
    repository,
    sourceType: source.type,
    method: 'logical',
  }),
  backup: backupLogical,
};
