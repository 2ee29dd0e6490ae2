import { createLauncher, detectRuntime, RuntimeUnavailableError, type Launcher } from '../runtime/index.js';
import type { Logger } from '../core/logger.js';

/** runc when it can run here; the process launcher when asked, or (with a note) when runc cannot. */
export function chooseRuntime(wanted: 'runc' | 'process' | undefined): {
  kind: 'runc' | 'process';
  note?: string;
} {
  if (wanted === 'process') return { kind: 'process' };
  const detected = detectRuntime();
  if (wanted === 'runc' && detected.kind !== 'runc')
    throw new RuntimeUnavailableError(`--runtime runc is not possible here: ${detected.reason}`);
  if (detected.kind === 'process')
    return {
      kind: 'process',
      note: `runc cannot be used (${detected.reason}): tasks run as plain processes without isolation`,
    };
  return { kind: 'runc' };
}

export function launcherFor(kind: 'runc' | 'process', stateRoot: string, logger: Logger): Launcher {
  return createLauncher(kind, { stateRoot, logger });
}
