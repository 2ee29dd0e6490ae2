import { execFileSync } from 'node:child_process';
import type { Logger } from '../core/logger.js';
import { ProcessLauncher } from './process-launcher.js';
import { RUNC, RuncLauncher } from './runc-launcher.js';
import type { Launcher } from './types.js';

export type {
  ExecSpec,
  ExecStatus,
  ExitStatus,
  LaunchSpec,
  Launcher,
  LauncherOptions,
  RecoverResult,
} from './types.js';
export { computeRuntimeConfig, type RuntimeConfig } from './runc-config.js';
export { parseProcLimits, readHostLimits, type HostLimits } from './host-limits.js';
export { computeExitStatus } from './exit-status.js';
export { computeOverlayOptions, mountOverlay, unmountOverlay, type OverlayDirs } from './overlay.js';
export * from './errors.js';

export function createLauncher(
  kind: 'runc' | 'process',
  options: { stateRoot: string; logger?: Logger },
): Launcher {
  return kind === 'runc' ? new RuncLauncher(options) : new ProcessLauncher(options);
}

/** runc when running as root and `runc --version` works; otherwise the process launcher, with the reason. */
export function detectRuntime(): { kind: 'runc' | 'process'; reason?: string } {
  if (process.getuid?.() !== 0) return { kind: 'process', reason: 'not running as root' };
  try {
    execFileSync(RUNC, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return { kind: 'runc' };
  } catch {
    return { kind: 'process', reason: 'runc not found: apt-get install runc' };
  }
}
