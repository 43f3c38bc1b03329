/**
 * Which protection method a dataset uses, and the repository it backs up to when the plan
 * names none: decided here from the plan alone, so that every use case (and the context's
 * `repositoryOf`) reads the same answer.
 */
import type { Dataset } from '../../plan/schema.js';
import { DEFAULT_REPOSITORY } from '../repository-access.js';

/** `logical`: the source's dump streamed into restic. `physical`: pgBackRest. */
export type ProtectionKind = 'logical' | 'physical';

export function protectionKind(dataset: Dataset): ProtectionKind {
  return dataset.backup?.method === 'physical' ? 'physical' : 'logical';
}

/**
 * Both methods default to `local`, the repository Lifeboat keeps under `.lifeboat/` (as
 * docs/plan.md says): restic's in `repository/`, pgBackRest's in `pgbackrest/repo`. Recovery
 * points record this id, so changing it would orphan them.
 */
const DEFAULT_REPOSITORY_OF: Record<ProtectionKind, string> = {
  logical: DEFAULT_REPOSITORY,
  physical: DEFAULT_REPOSITORY,
};

export function defaultRepositoryOf(kind: ProtectionKind): string {
  return DEFAULT_REPOSITORY_OF[kind];
}

/** The repository id a dataset backs up to. */
export function datasetRepository(dataset: Dataset): string {
  return dataset.backup?.repository ?? defaultRepositoryOf(protectionKind(dataset));
}
