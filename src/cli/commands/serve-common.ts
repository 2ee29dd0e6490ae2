import { InvalidArgumentError } from '../../core/errors.js';

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`bad port "${text}": use a number from 0 to 65535`);
  return port;
}

/** A whole number, 0 or more, for the option `flag` (e.g. --max-completed-frameworks). */
export function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`bad ${flag} "${text}": use a whole number, 0 or more`);
  return n;
}

/** The options that bound the ended tasks and frameworks the master keeps (Mesos's flags of the same names). */
export const COMPLETED_OPTIONS = [
  [
    '--max-completed-tasks-per-framework <n>',
    'ended tasks kept per framework, the newest (older are forgotten)',
    '1000',
  ],
  ['--max-completed-frameworks <n>', 'torn-down frameworks kept, with their ended tasks', '50'],
] as const;

/** The parsed values of COMPLETED_OPTIONS. */
export function completedBounds(opts: {
  maxCompletedTasksPerFramework: string;
  maxCompletedFrameworks: string;
}): {
  maxCompletedTasksPerFramework: number;
  maxCompletedFrameworks: number;
} {
  return {
    maxCompletedTasksPerFramework: parseCount(
      opts.maxCompletedTasksPerFramework,
      '--max-completed-tasks-per-framework',
    ),
    maxCompletedFrameworks: parseCount(opts.maxCompletedFrameworks, '--max-completed-frameworks'),
  };
}

/** Resolves on the first SIGINT or SIGTERM: the foreground servers stop cleanly then. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
