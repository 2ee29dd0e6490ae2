import { constants } from 'node:os';
import type { ExitStatus } from './types.js';

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name] as const),
);

/**
 * Turns a shell status (`$?`) into an ExitStatus. Above 128, `128 + N` means "killed by signal N" (that is
 * what both sh and `runc run` report), so it becomes `{ exitCode: null, signal }`; a number that names no
 * signal stays an exit code.
 */
export function computeExitStatus(shellStatus: number, finishedAt: number): ExitStatus {
  if (shellStatus > 128) {
    const signal = SIGNAL_NAMES.get(shellStatus - 128);
    if (signal !== undefined) return { exitCode: null, signal, finishedAt };
  }
  return { exitCode: shellStatus, signal: null, finishedAt };
}

/**
 * Parses the supervisor's `exit` file (`$?` and a newline). Undefined unless it is a number with its
 * newline: the supervisor writes the file in place, so a status is only taken once its line is complete.
 */
export function parseExitFile(text: string): number | undefined {
  const match = /^(\d+)\n$/.exec(text);
  return match ? Number(match[1]) : undefined;
}
