/**
 * The deployment planner: pure functions from (target, current instances) to the next step — how many new
 * instances to start and which to kill. The controller calls it after every change and applies the result;
 * self-healing, scaling, rolling and blue/green upgrades and deletes are all this one convergence loop.
 *
 * Rolling: never fewer than `minReady` ready instances because of a kill the planner asks for, and never
 * more than `maxTotal` instances alive (killing ones included) because of a launch it asks for. Old
 * instances are killed only while enough other instances are ready to stay at or above `minReady`.
 * Blue/green: start a full new set, and kill the old set only once the whole new set is ready.
 */
import type { KillSelection, UpgradeStrategy } from './types.js';

export type PlannerState =
  /** Wanted, not launched yet (waiting for offers or backoff). */
  | 'pending'
  /** Launched, not (yet) ready. */
  | 'starting'
  | 'running'
  /** A kill was asked for; still counts towards capacity until it ends. */
  | 'killing'
  /** Unreachable for less than `inactiveAfterSeconds`: counted, not ready. */
  | 'unreachable'
  /** Unreachable for longer: not counted at all, and replaced. */
  | 'inactive';

export interface PlannerInstance {
  id: string;
  /** Runs the target's configuration (image, command, resources, checks, restart nonce). */
  current: boolean;
  state: PlannerState;
  ready: boolean;
  /** When it was created (launch order for killSelection). */
  createdAt: number;
}

export interface PlannerTarget {
  instances: number;
  strategy: UpgradeStrategy;
  killSelection: KillSelection;
}

export interface DeploymentStep {
  /** How many new instances (of the target configuration) to start. */
  launch: number;
  /** Instances to kill, in order. */
  kill: string[];
  /** Exactly `instances` current instances, all ready, and nothing else alive. */
  done: boolean;
  /** Current instances ready / wanted, for progress. */
  readyCurrent: number;
  /** Non-current instances still alive (not yet terminal). */
  oldAlive: number;
}

export interface CapacityBounds {
  minReady: number;
  maxTotal: number;
}

/**
 * `ceil(minimumHealthCapacity × n)` ready and `floor((1 + maximumOverCapacity) × n)` alive, adjusted so that
 * a rolling upgrade can always move: when the two leave no room, one extra instance is allowed if
 * maximumOverCapacity > 0, else the minimum drops by one. Blue/green: n ready and 2n alive.
 */
export function computeCapacityBounds(n: number, strategy: UpgradeStrategy): CapacityBounds {
  if (strategy.type === 'blueGreen') return { minReady: n, maxTotal: 2 * n };
  let minReady = Math.min(n, Math.ceil(strategy.minimumHealthCapacity * n - 1e-9));
  let maxTotal = Math.max(n, Math.floor((1 + strategy.maximumOverCapacity) * n + 1e-9));
  if (n > 0 && maxTotal - minReady < 1) {
    if (strategy.maximumOverCapacity > 0) maxTotal = minReady + 1;
    else minReady = Math.max(0, maxTotal - 1);
  }
  return { minReady, maxTotal };
}

/** Kill order: pending first, then not ready, then by killSelection. */
function killOrder(selection: KillSelection): (a: PlannerInstance, b: PlannerInstance) => number {
  const rank = (i: PlannerInstance): number => (i.state === 'pending' ? 0 : i.ready ? 2 : 1);
  return (a, b) =>
    rank(a) - rank(b) ||
    (selection === 'YOUNGEST_FIRST' ? b.createdAt - a.createdAt : a.createdAt - b.createdAt) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The next step towards the target. Pure: the same input gives the same output. */
export function computeDeploymentStep(
  target: PlannerTarget,
  instances: readonly PlannerInstance[],
): DeploymentStep {
  const n = target.instances;
  const { minReady, maxTotal } = computeCapacityBounds(n, target.strategy);
  const order = killOrder(target.killSelection);
  const kill: string[] = [];
  let counted = 0; // alive for capacity: everything but inactive
  let killing = 0;
  const current: PlannerInstance[] = [];
  const old: PlannerInstance[] = [];
  for (const i of instances) {
    if (i.state === 'inactive') continue;
    counted++;
    if (i.state === 'killing') killing++;
    else if (i.current) current.push(i);
    else old.push(i);
  }
  // Extra current instances (scale down): the cheapest first.
  let keptCurrent = current;
  if (current.length > n) {
    const sorted = [...current].sort(order);
    const extra = sorted.slice(0, current.length - n);
    for (const i of extra) kill.push(i.id);
    keptCurrent = sorted.slice(current.length - n);
  }
  const readyCurrent = keptCurrent.reduce((c, i) => c + (i.ready ? 1 : 0), 0);
  const oldReady = old.filter((i) => i.ready);
  const oldNotReady = old.filter((i) => !i.ready);
  if (target.strategy.type === 'rolling') {
    // Old instances that serve nothing can go at once; ready ones only while enough stay ready.
    for (const i of oldNotReady.sort(order)) kill.push(i.id);
    const canKill = Math.max(0, Math.min(oldReady.length, readyCurrent + oldReady.length - minReady));
    for (const i of oldReady.sort(order).slice(0, canKill)) kill.push(i.id);
  } else if (readyCurrent >= n) {
    for (const i of old.sort(order)) kill.push(i.id);
  }
  const wanted = Math.max(0, n - keptCurrent.length);
  const room = target.strategy.type === 'rolling' ? Math.max(0, maxTotal - counted) : wanted;
  const launch = Math.min(wanted, room);
  const done =
    keptCurrent.length === n && readyCurrent === n && old.length === 0 && killing === 0 && kill.length === 0;
  return { launch, kill, done, readyCurrent, oldAlive: old.length + killing };
}

/**
 * The human-readable steps a deployment would take if every launched instance became ready at once and
 * every kill ended at once, e.g. `['start 2 new', 'kill 2 old', 'start 2 new', 'kill 2 old']`.
 */
export function describeDeploymentSteps(
  target: PlannerTarget,
  instances: readonly PlannerInstance[],
  maxSteps = 50,
): string[] {
  let sim = instances.filter((i) => i.state !== 'inactive').map((i) => ({ ...i }));
  const steps: string[] = [];
  let serial = 0;
  for (let round = 0; round < maxSteps * 2; round++) {
    const step = computeDeploymentStep(target, sim);
    if (step.done || (step.launch === 0 && step.kill.length === 0)) break;
    if (step.kill.length > 0) {
      const killed = new Set(step.kill);
      const oldKilled = sim.filter((i) => killed.has(i.id) && !i.current).length;
      const curKilled = step.kill.length - oldKilled;
      if (oldKilled > 0) steps.push(`kill ${oldKilled} old`);
      if (curKilled > 0) steps.push(`kill ${curKilled}`);
      sim = sim.filter((i) => !killed.has(i.id));
    }
    if (step.launch > 0) {
      steps.push(`start ${step.launch} new`);
      for (let k = 0; k < step.launch; k++)
        sim.push({ id: `sim-${serial++}`, current: true, state: 'running', ready: true, createdAt: 0 });
    }
    if (steps.length >= maxSteps) {
      steps.push('…');
      break;
    }
  }
  // Not-ready instances never become ready in this simulation: say what remains.
  if (steps.length === 0 && instances.some((i) => i.current && !i.ready && i.state !== 'inactive'))
    steps.push('wait for new instances to be ready');
  return steps;
}
