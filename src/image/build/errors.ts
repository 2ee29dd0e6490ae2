import { BerthError } from '../../core/errors.js';

/** The Dockerfile does not parse, or uses an instruction berth does not build. */
export class DockerfileSyntaxError extends BerthError {
  readonly code = 'ERR_BAD_DOCKERFILE';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`Dockerfile line ${line}: ${reason}`);
  }
}

/** A step failed: a RUN exited non-zero, a COPY source is missing … */
export class BuildStepFailedError extends BerthError {
  readonly code = 'ERR_BUILD_FAILED';
  constructor(
    readonly step: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${reason}`, options);
  }
}

/** RUN needs runc (root). */
export class BuildRuntimeUnavailableError extends BerthError {
  readonly code = 'ERR_BUILD_RUNTIME_UNAVAILABLE';
  constructor(reason: string) {
    super(
      `RUN steps need runc, which cannot be used here (${reason}): run berth as root with runc installed`,
    );
  }
}

/** The build context (the directory sent with the build) is missing something or is refused. */
export class BuildContextError extends BerthError {
  readonly code = 'ERR_BAD_BUILD_CONTEXT';
}
