/**
 * How long a hollow agent's task "runs": a distribution given as text, parsed once and sampled per task.
 *   `1s`, `250ms`, `2m`       a fixed duration
 *   `exp:2s`                  exponential with that mean
 *   `uniform:1s-5s`           uniform between the two
 *   `forever`                 until it is killed
 */
import { InvalidArgumentError } from '../core/errors.js';

export type TaskDuration =
  | { kind: 'fixed'; ms: number }
  | { kind: 'exp'; meanMs: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'forever' };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseMs(text: string, whole: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match)
    throw new InvalidArgumentError(
      `bad --task-duration "${whole}": use e.g. 1s, 250ms, exp:2s, uniform:1s-5s or forever`,
    );
  return Number(match[1]) * UNITS[match[2]!]!;
}

export function parseTaskDuration(text: string): TaskDuration {
  const spec = text.trim();
  if (spec === 'forever') return { kind: 'forever' };
  if (spec.startsWith('exp:')) return { kind: 'exp', meanMs: parseMs(spec.slice(4), text) };
  if (spec.startsWith('uniform:')) {
    const [min, max, ...rest] = spec.slice(8).split('-');
    if (min === undefined || max === undefined || rest.length > 0)
      throw new InvalidArgumentError(
        `bad --task-duration "${text}": write uniform:MIN-MAX, e.g. uniform:1s-5s`,
      );
    const minMs = parseMs(min, text);
    const maxMs = parseMs(max, text);
    if (maxMs < minMs)
      throw new InvalidArgumentError(`bad --task-duration "${text}": the maximum is below the minimum`);
    return { kind: 'uniform', minMs, maxMs };
  }
  return { kind: 'fixed', ms: parseMs(spec, text) };
}

/** A duration in ms drawn from the distribution (`random` in [0, 1)), or undefined for `forever`. */
export function sampleTaskDuration(d: TaskDuration, random: () => number = Math.random): number | undefined {
  switch (d.kind) {
    case 'forever':
      return undefined;
    case 'fixed':
      return d.ms;
    case 'exp':
      return -d.meanMs * Math.log(1 - random());
    case 'uniform':
      return d.minMs + (d.maxMs - d.minMs) * random();
  }
}
