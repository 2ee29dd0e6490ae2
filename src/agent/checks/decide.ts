/**
 * The decisions of health and readiness checking, as pure functions: a probe's result and the time in,
 * the next state and what to report (or whether to kill) out. The runners in `checker.ts` do the I/O.
 */
import type { CheckInfo, CheckStatusInfo, HealthCheck } from '../../api/mesos.js';

/** Mesos's defaults for a HealthCheck, in seconds. */
export const HEALTH_DEFAULTS = {
  delay: 15,
  interval: 10,
  timeout: 20,
  consecutiveFailures: 3,
  gracePeriod: 10,
} as const;

/** Mesos's defaults for a CheckInfo, in seconds. */
export const CHECK_DEFAULTS = { delay: 15, interval: 10, timeout: 20 } as const;

export interface CheckTiming {
  delayMs: number;
  intervalMs: number;
  timeoutMs: number;
}

export interface HealthPolicy extends CheckTiming {
  /** Failures in a row that kill the task; 0 never kills. */
  consecutiveFailures: number;
  gracePeriodMs: number;
}

/** What one probe found: `ok` for health, `status` for readiness, `detail` for messages. */
export interface ProbeResult {
  ok: boolean;
  /** One line naming the check and the outcome, e.g. `HTTP GET :31002/health: connection refused`. */
  detail: string;
  status: CheckStatusInfo;
}

const ms = (seconds: number | undefined, fallback: number): number =>
  Math.round((seconds ?? fallback) * 1000);

export function computeHealthPolicy(check: HealthCheck): HealthPolicy {
  return {
    delayMs: ms(check.delay_seconds, HEALTH_DEFAULTS.delay),
    intervalMs: ms(check.interval_seconds, HEALTH_DEFAULTS.interval),
    timeoutMs: ms(check.timeout_seconds, HEALTH_DEFAULTS.timeout),
    consecutiveFailures: check.consecutive_failures ?? HEALTH_DEFAULTS.consecutiveFailures,
    gracePeriodMs: ms(check.grace_period_seconds, HEALTH_DEFAULTS.gracePeriod),
  };
}

export function computeCheckTiming(check: CheckInfo): CheckTiming {
  return {
    delayMs: ms(check.delay_seconds, CHECK_DEFAULTS.delay),
    intervalMs: ms(check.interval_seconds, CHECK_DEFAULTS.interval),
    timeoutMs: ms(check.timeout_seconds, CHECK_DEFAULTS.timeout),
  };
}

export interface HealthState {
  /** When the task started running (ms): the grace period counts from here. */
  startedAt: number;
  /** The verdict last reported; undefined before the first one. */
  healthy?: boolean;
  /** Once healthy, the grace period no longer applies. */
  everHealthy: boolean;
  /** Failures in a row that counted (outside the grace period). */
  failures: number;
}

export interface HealthStep {
  state: HealthState;
  /** Send a TASK_RUNNING update with this verdict (the verdict changed, or it is the first). */
  report?: { healthy: boolean };
  /** Kill the task: too many failures in a row. */
  kill?: { message: string };
}

export function initialHealthState(startedAt: number, lastHealthy?: boolean): HealthState {
  return {
    startedAt,
    ...(lastHealthy !== undefined ? { healthy: lastHealthy } : {}),
    everHealthy: lastHealthy === true,
    failures: 0,
  };
}

/**
 * One probe's effect on a task's health. Failures are ignored during the grace period, until the task
 * has been healthy once; a failure outside it counts, and `consecutiveFailures` of them in a row kill.
 */
export function computeHealthStep(
  policy: HealthPolicy,
  state: HealthState,
  result: ProbeResult,
  now: number,
): HealthStep {
  if (result.ok) {
    const next: HealthState = { ...state, healthy: true, everHealthy: true, failures: 0 };
    return state.healthy === true ? { state: next } : { state: next, report: { healthy: true } };
  }
  if (!state.everHealthy && now - state.startedAt < policy.gracePeriodMs) return { state };
  const failures = state.failures + 1;
  const step: HealthStep = { state: { ...state, healthy: false, failures } };
  if (state.healthy !== false) step.report = { healthy: false };
  if (policy.consecutiveFailures > 0 && failures >= policy.consecutiveFailures) {
    step.kill = {
      message: `health check failed ${failures} time${failures === 1 ? '' : 's'}: ${result.detail}`,
    };
  }
  return step;
}

export interface CheckState {
  /** The result last reported. */
  last?: CheckStatusInfo;
}

/** One probe's effect on a readiness check: report when the result differs from the last one reported. */
export function computeCheckStep(
  state: CheckState,
  result: ProbeResult,
): { state: CheckState; report?: CheckStatusInfo } {
  if (state.last && sameCheckStatus(state.last, result.status)) return { state };
  return { state: { last: result.status }, report: result.status };
}

export function sameCheckStatus(a: CheckStatusInfo, b: CheckStatusInfo): boolean {
  return (
    a.type === b.type &&
    a.http?.status_code === b.http?.status_code &&
    a.tcp?.succeeded === b.tcp?.succeeded &&
    a.command?.exit_code === b.command?.exit_code
  );
}

/** When the first probe runs, counted from the task's start: `delay` after it, or at once if that passed. */
export function computeFirstProbeDelay(timing: CheckTiming, startedAt: number, now: number): number {
  return Math.max(0, startedAt + timing.delayMs - now);
}

/** The wait before the next probe: `interval` from the start of the last one, never negative. */
export function computeNextProbeDelay(timing: CheckTiming, probeStartedAt: number, now: number): number {
  return Math.max(0, probeStartedAt + timing.intervalMs - now);
}
