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
 */
export function findCycles(plan: Plan): string[][] {
  const adjacency = hardAdjacency(plan);
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of adjacency.get(node) ?? []) {
      if (state.get(next) === 'active') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const key = canonicalCycle(cycle);
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of adjacency.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

function canonicalCycle(cycle: string[]): string {
  const ring = cycle.slice(0, -1);
  const start = ring.indexOf([...ring].sort()[0]!);
  return [...ring.slice(start), ...ring.slice(0, start)].join('>');
}

export interface RecoveryWaves {
  /** Wave 0 first: services whose hard dependencies are all in earlier waves. */
  waves: string[][];
  /** Services that cannot be ordered because they sit on or behind a cycle. */
  blocked: string[];
}

export function recoveryWaves(plan: Plan): RecoveryWaves {
  const adjacency = hardAdjacency(plan);
  const placed = new Set<string>();
  const waves: string[][] = [];
  for (;;) {
    const wave = [...adjacency.keys()].filter(
      (id) => !placed.has(id) && adjacency.get(id)!.every((dep) => placed.has(dep)),
    );
    if (wave.length === 0) break;
    wave.sort(byPriorityThenId(plan));
    waves.push(wave);
    for (const id of wave) placed.add(id);
  }
  return { waves, blocked: [...adjacency.keys()].filter((id) => !placed.has(id)).sort() };
}

const PRIORITY_ORDER = { critical: 0, high: 1, medium: 2, low: 3 } as const;
function byPriorityThenId(plan: Plan) {
  const rank = (id: string) => PRIORITY_ORDER[plan.services?.[id]?.priority ?? 'low'] ?? 4;
  return (a: string, b: string) => rank(a) - rank(b) || a.localeCompare(b);
}

export interface RecoveryChain {
  service: string;
  /** The dependency chain, from the service itself down to the deepest dependency. */
  chain: string[];
  /** Sum of the RTOs along the chain, in seconds: the slowest this service can be fully back. */
  totalRtoSeconds: number;
  /** The service's own RTO in seconds, if any. */
  rtoSeconds: number | undefined;
  /** Services on the chain that have no RTO (counted as 0). */
  unknownRto: string[];
}

/**
 * For each service, the hard-dependency path with the largest sum of RTOs. Dependencies
 * recover before their dependants, so that sum is what the service's own RTO must cover.
 * Services on a cycle get only themselves.
 */
export function recoveryChains(plan: Plan): RecoveryChain[] {
  const adjacency = hardAdjacency(plan);
  const { blocked } = recoveryWaves(plan);
  const memo = new Map<string, { chain: string[]; total: number }>();
  const longest = (id: string): { chain: string[]; total: number } => {
    const cached = memo.get(id);
    if (cached) return cached;
    const own = effectiveRto(plan, id) ?? 0;
    let best = { chain: [id], total: own };
    if (!blocked.includes(id)) {
      for (const dep of adjacency.get(id) ?? []) {
        const sub = longest(dep);
        if (
          own + sub.total > best.total ||
          (own + sub.total === best.total && sub.chain.length + 1 > best.chain.length)
        ) {
          best = { chain: [id, ...sub.chain], total: own + sub.total };
        }
      }
    }
    memo.set(id, best);
    return best;
  };
  return [...adjacency.keys()].sort().map((service) => {
    const { chain, total } = longest(service);
    return {
      service,
      chain,
      totalRtoSeconds: total,
      rtoSeconds: effectiveRto(plan, service),
      unknownRto: chain.filter((id) => effectiveRto(plan, id) === undefined),
    };
  });
}
