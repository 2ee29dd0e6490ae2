/**
 * Runs a task's health check and readiness check on a timer, applies the pure decisions of `decide.ts`
 * to each probe's result, and tells the agent what to report or kill. Injectable (`AgentOptions.checker`):
 * the simulator's hollow agents use `instantTaskChecker`, which reports success at once.
 */
import type { CheckInfo, CheckStatusInfo, HealthCheck, TaskInfo } from '../../api/mesos.js';
import { systemClock, type Clock, type Timer } from '../../core/clock.js';
import {
  computeCheckStep,
  computeCheckTiming,
  computeFirstProbeDelay,
  computeHealthPolicy,
  computeHealthStep,
  computeNextProbeDelay,
  initialHealthState,
  type CheckState,
  type CheckTiming,
  type ProbeResult,
} from './decide.js';
import { probeCommand, probeHttp, probeTcp, type CheckExec } from './probes.js';

/** What the agent does with the checks' outcomes. */
export interface CheckListener {
  /** The health verdict changed, or this is the first one: send TASK_RUNNING with `healthy`. */
  healthChanged(healthy: boolean): void;
  /** The readiness check's result changed, or this is the first: send TASK_RUNNING with `check_status`. */
  checkChanged(status: CheckStatusInfo): void;
  /** Too many health check failures in a row: kill the task; its final update carries this message. */
  unhealthy(message: string): void;
}

export interface CheckTarget {
  task: TaskInfo;
  /** When the task started running (ms): the delay and the grace period count from here. */
  startedAt: number;
  /** What was reported before an agent restart, so it is not reported again. */
  lastHealthy?: boolean;
  lastCheckStatus?: CheckStatusInfo;
  /** Runs a command check's command beside the task (in its container, or in its sandbox). */
  exec?: CheckExec;
}

export interface CheckRun {
  stop(): void;
}

export interface TaskChecker {
  /** Starts the task's checks (a no-op run when it has none). */
  start(target: CheckTarget, listener: CheckListener): CheckRun;
}

/** What one probe does; the real one does network or process I/O, tests bring their own. */
export type Probe = (
  check: HealthCheck | CheckInfo,
  timeoutMs: number,
  exec: CheckExec | undefined,
) => Promise<ProbeResult>;

export interface ProbingTaskCheckerOptions {
  clock?: Clock;
  probe?: Probe;
}

export class ProbingTaskChecker implements TaskChecker {
  private readonly clock: Clock;
  private readonly probe: Probe;

  constructor(options: ProbingTaskCheckerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.probe = options.probe ?? runProbe;
  }

  start(target: CheckTarget, listener: CheckListener): CheckRun {
    const stops: Array<() => void> = [];
    const stopAll = (): void => {
      for (const stop of stops) stop();
    };
    const health = target.task.health_check;
    if (health) {
      const policy = computeHealthPolicy(health);
      let state = initialHealthState(target.startedAt, target.lastHealthy);
      stops.push(
        this.loop(target.startedAt, policy, health, target.exec, (result, now) => {
          const step = computeHealthStep(policy, state, result, now);
          state = step.state;
          if (step.report) listener.healthChanged(step.report.healthy);
          if (!step.kill) return true;
          stopAll();
          listener.unhealthy(step.kill.message);
          return false;
        }),
      );
    }
    const check = target.task.check;
    if (check) {
      let state: CheckState = target.lastCheckStatus ? { last: target.lastCheckStatus } : {};
      stops.push(
        this.loop(target.startedAt, computeCheckTiming(check), check, target.exec, (result) => {
          const step = computeCheckStep(state, result);
          state = step.state;
          if (step.report) listener.checkChanged(step.report);
          return true;
        }),
      );
    }
    return { stop: stopAll };
  }

  /** Probes after the delay, then every interval (never two at once) until stopped or told to stop. */
  private loop(
    startedAt: number,
    timing: CheckTiming,
    check: HealthCheck | CheckInfo,
    exec: CheckExec | undefined,
    onResult: (result: ProbeResult, now: number) => boolean,
  ): () => void {
    const clock = this.clock;
    let stopped = false;
    let timer: Timer | undefined;
    const tick = async (): Promise<void> => {
      timer = undefined;
      if (stopped) return;
      const probeStartedAt = clock.now();
      const result = await this.probe(check, timing.timeoutMs, exec);
      if (stopped || !onResult(result, clock.now()) || stopped) return;
      timer = clock.setTimeout(() => void tick(), computeNextProbeDelay(timing, probeStartedAt, clock.now()));
    };
    timer = clock.setTimeout(() => void tick(), computeFirstProbeDelay(timing, startedAt, clock.now()));
    return () => {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
    };
  }
}

/** The real probe of a HealthCheck or CheckInfo. A check missing its type's field fails, saying so. */
export const runProbe: Probe = (check, timeoutMs, exec) => {
  const missing = (field: string): Promise<ProbeResult> =>
    Promise.resolve({
      ok: false,
      detail: `${check.type} check has no "${field}" field`,
      status: { type: check.type },
    });
  switch (check.type) {
    case 'HTTP': {
      if (!check.http) return missing('http');
      const statuses = 'statuses' in check.http ? (check.http.statuses as number[] | undefined) : undefined;
      return probeHttp(check.http.port, check.http.path, timeoutMs, statuses);
    }
    case 'TCP':
      return check.tcp ? probeTcp(check.tcp.port, timeoutMs) : missing('tcp');
    case 'COMMAND': {
      // A HealthCheck's `command` is a CommandInfo; a CheckInfo's is `{ command: CommandInfo }`.
      const command = check.command && 'command' in check.command ? check.command.command : check.command;
      return command ? probeCommand(exec, command, timeoutMs) : missing('command');
    }
  }
};

/** A checker that probes nothing: healthy at once and every readiness check passing (hollow agents). */
export const instantTaskChecker: TaskChecker = {
  start(target, listener) {
    if (target.task.health_check && target.lastHealthy !== true) listener.healthChanged(true);
    const check = target.task.check;
    if (check && !target.lastCheckStatus) listener.checkChanged(passingStatus(check.type));
    return { stop: () => undefined };
  },
};

function passingStatus(type: CheckInfo['type']): CheckStatusInfo {
  if (type === 'HTTP') return { type, http: { status_code: 200 } };
  if (type === 'TCP') return { type, tcp: { succeeded: true } };
  return { type, command: { exit_code: 0 } };
}
