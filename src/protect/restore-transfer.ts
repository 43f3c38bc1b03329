/**
 * Moving a recovery point's units from the repository into the restore target. The driver
 * decides what each unit needs (a database dropped, keys copied over, a file moved aside);
 * this side offers it the repository: streams, small files read whole, paths restic restores,
 * timed and reported unit by unit.
 */
import { OperationError } from '../errors.js';
import type { DumpHandle, ResticRepository } from '../engines/restic/repository.js';
import type { PlannedUnit, RestoreIO, Source, Staging, Store, StreamedHash } from '../stores/index.js';
import type { SourceConfig } from '../plan/schema.js';
import type { RestorePlan, RestoreUnitPlan } from './restore-plan.js';
import type { RestoreEvent, UnitOutcome } from './restore-result.js';
import { openDump, readUnit, streamUnit } from './restore-stream.js';

export interface TransferInput {
  plan: RestorePlan;
  store: Store;
  source: Source;
  config: SourceConfig;
  repository: ResticRepository;
  existing: string[];
  force: boolean;
  emit: (event: RestoreEvent) => void;
  cleanups: (() => Promise<void>)[];
  /** Names what the restore creates beside the target. */
  id: string;
  /** Told where the driver stages the copy, before it writes. */
  stage: (staging: Staging) => void;
}

export async function transfer(
  input: TransferInput,
): Promise<{ units: UnitOutcome[]; streamedHash?: StreamedHash }> {
  const { plan, repository, emit } = input;
  const outcomes: UnitOutcome[] = [];
  const ahead = new Map<RestoreUnitPlan, Promise<DumpHandle>>();
  // Dumps opened for units the restore never reached are stopped before the repository is let go.
  const dropAhead = () => {
    for (const opened of ahead.values())
      void opened.then(
        (handle) => handle.stream.destroy(),
        () => undefined,
      );
    ahead.clear();
  };
  const planned = (unit: PlannedUnit): RestoreUnitPlan => {
    const found = plan.units.find((u) => u === unit);
    if (!found) throw new OperationError(`${unit.filename} is not a unit of this restore`);
    return found;
  };
  const io: RestoreIO = {
    units: plan.units,
    force: input.force,
    existingDatabases: input.existing,
    async unit(unit, work) {
      emit({ type: 'unit-start', unit: unit.filename, into: planned(unit).into });
      const t0 = Date.now();
      const { bytes, note } = await work();
      const outcome = {
        filename: unit.filename,
        into: planned(unit).into,
        bytes,
        seconds: (Date.now() - t0) / 1000,
        ...(note ? { note } : {}),
      };
      outcomes.push(outcome);
      emit({
        type: 'unit-done',
        unit: unit.filename,
        bytes,
        seconds: outcome.seconds,
        ...(note ? { note } : {}),
      });
    },
    stream(unit, consume, options = {}) {
      const stored = planned(unit);
      const opened = ahead.get(stored);
      ahead.delete(stored);
      return streamUnit(repository, stored, consume, emit, { ...options, ...(opened ? { opened } : {}) });
    },
    openAhead(unit) {
      if (unit === undefined) return;
      const stored = planned(unit);
      if (!ahead.has(stored)) ahead.set(stored, openDump(repository, stored, true));
    },
    read: (unit) => readUnit(repository, planned(unit)),
    restorePaths: (unit, dir) => repository.restoreTo(planned(unit).snapshotId, dir),
    session: (work) =>
      repository.session(async () => {
        try {
          return await work();
        } finally {
          dropAhead();
        }
      }),
    defer: (cleanup) => input.cleanups.push(cleanup),
    id: input.id,
    stage: input.stage,
  };
  try {
    const streamedHash = await input.store.restore(input.source, input.config, plan.target, io);
    return { units: outcomes, ...(streamedHash ? { streamedHash } : {}) };
  } finally {
    dropAhead();
  }
}
