import { BerthError } from '../../core/errors.js';

/** An archive given to `berth load` is not one berth can read, or is unsafe. */
export class BadArchiveError extends BerthError {
  readonly code = 'ERR_BAD_ARCHIVE';
  constructor(
    message: string,
    readonly entry?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
