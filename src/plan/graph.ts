/**
 * The service dependency graph: recovery order in waves, cycles, and for each service the
 * chain of hard dependencies that bounds how fast it can come back (the sum of their RTOs).
 * Pure functions of the plan.
 */
import { parseDuration } from './duration.js';
import type { Dependency, Plan } from './schema.js';

export interface Edge {
  from: string;
  to: string;
  soft: boolean;
}

export function dependencyEdges(plan: Plan): Edge[] {
  const edges: Edge[] = [];
  for (const [id, service] of Object.entries(plan.services ?? {})) {
    for (const dep of service.depends_on ?? []) edges.push({ from: id, ...normalizeDependency(dep) });
  }
  return edges;
}

export function normalizeDependency(dep: Dependency): { to: string; soft: boolean } {
  return typeof dep === 'string' ? { to: dep, soft: false } : { to: dep.on, soft: dep.soft ?? false };
}

/** RTO of a service in seconds: its own, else the plan-wide one, else undefined. */
export function effectiveRto(plan: Plan, serviceId: string): number | undefined {
  const own = plan.services?.[serviceId]?.rto ?? plan.objectives?.rto;
  return own === undefined ? undefined : parseDuration(own);
}

/** RPO of a dataset in seconds: its own, else the plan-wide one, else undefined. */
export function effectiveRpo(plan: Plan, datasetId: string): number | undefined {
  const own = plan.datasets?.[datasetId]?.rpo ?? plan.objectives?.rpo;
  return own === undefined ? undefined : parseDuration(own);
}

function hardAdjacency(plan: Plan): Map<string, string[]> {
  const services = plan.services ?? {};
  const adjacency = new Map<string, string[]>(Object.keys(services).map((id) => [id, []]));
  for (const edge of dependencyEdges(plan)) {
    if (!edge.soft && edge.to in services) adjacency.get(edge.from)!.push(edge.to);
  }
  return adjacency;
}

/**
 * Cycles of hard dependencies found by depth-first search, each as `[a, b, ..., a]`, once.
 * Soft dependencies are left out: a service that only degrades without another can start
 * first, so a circle closed by a soft edge still has a recovery order (and marking an edge
 * soft is how the `dependency-cycle` rule tells the user to break one).
 *
 * The search keeps its own stack: a plan may chain thousands of services, deeper than the
 * JavaScript call stack, and `plan check` must report on it rather than crash.
 */
export function findCycles(plan: Plan): string[][] {
  const adjacency = hardAdjacency(plan);
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'active' | 'done'>();
  // The active path, and where each of its nodes sits on it (for the slice a back edge closes).
  const path: string[] = [];
  const onPath = new Map<string, number>();
  const frames: { node: string; next: number }[] = [];
  const enter = (node: string) => {
    state.set(node, 'active');
    onPath.set(node, path.length);
    path.push(node);
    frames.push({ node, next: 0 });
  };
  for (const root of adjacency.keys()) {
    if (state.has(root)) continue;
    enter(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const deps = adjacency.get(frame.node) ?? [];
      if (frame.next >= deps.length) {
        frames.pop();
        path.pop();
        onPath.delete(frame.node);
        state.set(frame.node, 'done');
        continue;
      }
      const next = deps[frame.next++]!;
      if (state.get(next) === 'active') {
        const cycle = [...path.slice(onPath.get(next)), next];
        const key = canonicalCycle(cycle);
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(next)) enter(next);
    }
  }
  return cycles;
}

function canonicalCycle(cycle: string[]): string {
  const ring = cycle.slice(0, -1);
  let start = 0;
  for (let i = 1; i < ring.length; i++) if (ring[i]! < ring[start]!) start = i;
  return [...ring.slice(start), ...ring.slice(0, start)].join('>');
}

export interface RecoveryWaves {
  /** Wave 0 first: services whose hard dependencies are all in earlier waves. */
  waves: string[][];
  /** Services that cannot be ordered because they sit on or behind a cycle. */
  blocked: string[];
}

/** Kahn's algorithm, a wave at a time: linear in the services and edges, however long the chains. */
export function recoveryWaves(plan: Plan): RecoveryWaves {
  const adjacency = hardAdjacency(plan);
  const waiting = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const [id, deps] of adjacency) {
    const distinct = new Set(deps);
    waiting.set(id, distinct.size);
    for (const dep of distinct) {
      const list = dependants.get(dep);
      if (list) list.push(id);
      else dependants.set(dep, [id]);
    }
  }
  const order = byPriorityThenId(plan);
  const waves: string[][] = [];
  let wave = [...adjacency.keys()].filter((id) => waiting.get(id) === 0);
  while (wave.length > 0) {
    wave.sort(order);
    waves.push(wave);
    const next: string[] = [];
    for (const id of wave) {
      for (const dependant of dependants.get(id) ?? []) {
        const left = waiting.get(dependant)! - 1;
        waiting.set(dependant, left);
        if (left === 0) next.push(dependant);
      }
    }
    wave = next;
  }
  return { waves, blocked: [...adjacency.keys()].filter((id) => waiting.get(id) !== 0).sort() };
}

const PRIORITY_ORDER = { critical: 0, high: 1, medium: 2, low: 3 } as const;
function byPriorityThenId(plan: Plan) {
  const rank = (id: string) => PRIORITY_ORDER[plan.services?.[id]?.priority ?? 'low'] ?? 4;
  return (a: string, b: string) => rank(a) - rank(b) || a.localeCompare(b);
}

/** A chain longer than this is shown by its first services and its last. */
export const CHAIN_SHOWN = 12;
/** At most this many services without an RTO are named for one chain. */
export const UNKNOWN_RTO_SHOWN = 20;

export interface RecoveryChain {
  service: string;
  /**
   * The dependency chain, from the service itself down to the deepest dependency. A chain of
   * more than `CHAIN_SHOWN` services keeps its first ones and its last, and `omitted` says how
   * many were left out before the last: every service's full chain of a long line of
   * dependencies would grow with the square of its length.
   */
  chain: string[];
  /** Services left out of `chain`, between its last two entries. */
  omitted?: number;
  /** Sum of the RTOs along the chain, in seconds: the slowest this service can be fully back. */
  totalRtoSeconds: number;
  /** The service's own RTO in seconds, if any. */
  rtoSeconds: number | undefined;
  /** Services on the chain that have no RTO (counted as 0), the first `UNKNOWN_RTO_SHOWN` of them. */
  unknownRto: string[];
  /** Services without an RTO on the chain that `unknownRto` leaves out. */
  unknownRtoOmitted?: number;
}

interface Longest {
  /** The dependency the chain continues with, if any. */
  next: string | undefined;
  length: number;
  total: number;
  last: string;
  unknown: string[];
  unknownCount: number;
}

/**
 * For each service, the hard-dependency path with the largest sum of RTOs. Dependencies
 * recover before their dependants, so that sum is what the service's own RTO must cover.
 * Services on a cycle, or behind one, get only themselves.
 *
 * Computed in recovery order, each service from its dependencies' results, so that no walk
 * recurses and none is repeated.
 */
export function recoveryChains(plan: Plan): RecoveryChain[] {
  const adjacency = hardAdjacency(plan);
  const { waves } = recoveryWaves(plan);
  const longest = new Map<string, Longest>();
  const alone = (id: string): Longest => {
    const unknown = effectiveRto(plan, id) === undefined;
    return {
      next: undefined,
      length: 1,
      total: effectiveRto(plan, id) ?? 0,
      last: id,
      unknown: unknown ? [id] : [],
      unknownCount: unknown ? 1 : 0,
    };
  };
  for (const wave of waves) {
    for (const id of wave) {
      const own = alone(id);
      let best = own;
      for (const dep of adjacency.get(id) ?? []) {
        const sub = longest.get(dep)!;
        const total = own.total + sub.total;
        if (total > best.total || (total === best.total && sub.length + 1 > best.length)) {
          best = {
            next: dep,
            length: sub.length + 1,
            total,
            last: sub.last,
            unknown: [...own.unknown, ...sub.unknown].slice(0, UNKNOWN_RTO_SHOWN),
            unknownCount: own.unknownCount + sub.unknownCount,
          };
        }
      }
      longest.set(id, best);
    }
  }
  return [...adjacency.keys()].sort().map((service) => {
    const found = longest.get(service) ?? alone(service);
    const chain: string[] = [];
    let at: string | undefined = service;
    while (at !== undefined && chain.length < CHAIN_SHOWN - 1) {
      chain.push(at);
      at = longest.get(at)?.next;
    }
    const omitted = found.length - chain.length - 1;
    if (found.length > chain.length) chain.push(found.last);
    return {
      service,
      chain,
      ...(omitted > 0 ? { omitted } : {}),
      totalRtoSeconds: found.total,
      rtoSeconds: effectiveRto(plan, service),
      unknownRto: found.unknown,
      ...(found.unknownCount > found.unknown.length
        ? { unknownRtoOmitted: found.unknownCount - found.unknown.length }
        : {}),
    };
  });
}

/** A chain as text, `a → b → … 19,950 more … → z` when it was shortened. */
export function formatChain(
  chain: { chain: string[]; omitted?: number | undefined },
  name: (id: string) => string = (id) => id,
): string {
  const names = chain.chain.map(name);
  if (chain.omitted === undefined) return names.join(' → ');
  const last = names.pop()!;
  return [...names, `… ${chain.omitted.toLocaleString('en')} more …`, last].join(' → ');
}
