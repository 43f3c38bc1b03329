/** The protection method of a dataset, picked once by the use cases. */
import type { Dataset } from '../../plan/schema.js';
import { protectionKind, type ProtectionKind } from './kind.js';
import { logicalMethod } from './logical/method.js';
import type { ProtectionMethod } from './method.js';
import { physicalMethod } from './physical/method.js';

export type { ProtectionMethod } from './method.js';
export { datasetRepository, protectionKind, type ProtectionKind } from './kind.js';

const METHODS: Record<ProtectionKind, ProtectionMethod> = {
  logical: logicalMethod,
  physical: physicalMethod,
};

/** The method of a dataset handle (`context.handle(id)`), or of a kind. */
export function protectionMethod(of: ProtectionKind | { method: ProtectionKind }): ProtectionMethod {
  return METHODS[typeof of === 'string' ? of : of.method];
}

/** The method of a dataset from the plan alone. */
export function datasetMethod(dataset: Dataset): ProtectionMethod {
  return METHODS[protectionKind(dataset)];
}
