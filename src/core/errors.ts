/**
 * The base of every error berth raises on purpose. Each module has an `errors.ts` with subclasses that
 * carry a literal `code`; HTTP statuses and CLI exit codes are derived from the code in one place
 * (`httpStatusFor`, `exitCodeFor`), never from message text.
 */
export abstract class BerthError extends Error {
  abstract readonly code: string;
  /** True when the same call may succeed if tried again later. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The wire form, as served by every HTTP API: `{ code, message }`. */
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

export class InvalidArgumentError extends BerthError {
  readonly code = 'ERR_INVALID_ARGUMENT';
}

export class NotFoundError extends BerthError {
  readonly code = 'ERR_NOT_FOUND';
}

export class ConflictError extends BerthError {
  readonly code = 'ERR_CONFLICT';
}

export class UnauthorizedError extends BerthError {
  readonly code = 'ERR_UNAUTHORIZED';
}

export class UnavailableError extends BerthError {
  readonly code = 'ERR_UNAVAILABLE';
  override readonly retryable = true;
}

/** An error that arrived over HTTP from another berth process, with its code preserved. */
export class RemoteError extends BerthError {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const STATUS_BY_SUFFIX: ReadonlyArray<readonly [RegExp, number]> = [
  [/NOT_FOUND$|_UNKNOWN$/, 404],
  [/^ERR_UNAUTHORIZED$|_AUTH$/, 401],
  [/_CONFLICT$|_EXISTS$|_IN_USE$/, 409],
  [/_UNAVAILABLE$|_UNREACHABLE$|_BUSY$/, 503],
  [/_NOT_SUBSCRIBED$/, 403],
  [/^ERR_INVALID|^ERR_BAD_|_INVALID$/, 400],
];

/** The HTTP status for an error code. Unknown codes are server errors. */
export function httpStatusFor(code: string): number {
  for (const [pattern, status] of STATUS_BY_SUFFIX) if (pattern.test(code)) return status;
  return 500;
}

/** CLI exit codes follow sysexits(3) where one fits. */
export function exitCodeFor(code: string): number {
  const status = httpStatusFor(code);
  if (status === 400) return 64; // EX_USAGE
  if (status === 404) return 66; // EX_NOINPUT
  if (status === 401 || status === 403) return 77; // EX_NOPERM
  if (status === 503) return 69; // EX_UNAVAILABLE
  if (status === 409) return 75; // EX_TEMPFAIL
  return 70; // EX_SOFTWARE
}

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

/**
 * One line for a human. A BerthError's message is written for users and stands alone; for other errors
 * the cause's message is added when it says something more.
 */
export function describeError(err: unknown): string {
  if (err instanceof BerthError) return err.message;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
  }
  return String(err);
}
