import { BerthError } from '../core/errors.js';

/** The task could not be started: the message carries runc's (or the shell's) own one-line reason. */
export class LaunchFailedError extends BerthError {
  readonly code = 'ERR_LAUNCH_FAILED';

  constructor(
    readonly taskId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot start task ${taskId}: ${reason}`, options);
  }
}

/** The requested runtime cannot run on this host (not root, runc missing). */
export class RuntimeUnavailableError extends BerthError {
  readonly code = 'ERR_RUNTIME_UNAVAILABLE';
}

/** `mount -t overlay` failed, or the mount options cannot be expressed (too many layers, bad paths). */
export class OverlayMountFailedError extends BerthError {
  readonly code = 'ERR_OVERLAY_MOUNT_FAILED';

  constructor(
    readonly target: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot mount overlay at ${target}: ${reason}`, options);
  }
}

/** A runtime command other than launch (`runc kill`, `runc delete`, umount) failed. */
export class RuntimeCommandFailedError extends BerthError {
  readonly code = 'ERR_RUNTIME_COMMAND_FAILED';

  constructor(
    readonly command: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${command} failed: ${reason}`, options);
  }
}
