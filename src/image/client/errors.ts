/** Errors of the registry client (pull, push, login). Each says what failed and what to do, in one line. */
import { BerthError } from '../../core/errors.js';

/** A reference without a registry host was given to pull or push: berth has no default registry. */
export class NoRegistryHostError extends BerthError {
  readonly code = 'ERR_INVALID_REGISTRY_REFERENCE';

  constructor(
    readonly reference: string,
    readonly action: string,
  ) {
    super(
      `cannot ${action} "${reference}": it names no registry (berth has no default one); name the registry host, e.g. 127.0.0.1:5000/${reference}`,
    );
  }
}

/** The registry could not be reached at all (refused, reset, timed out, TLS failed). */
export class RegistryUnreachableError extends BerthError {
  readonly code = 'ERR_REGISTRY_UNREACHABLE';
  override readonly retryable = true;

  constructor(
    readonly url: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the registry at ${url}: ${detail}`, options);
  }
}

/** The registry refused our credentials, or wants some and none are stored. */
export class RegistryAuthError extends BerthError {
  readonly code = 'ERR_REGISTRY_AUTH';

  constructor(
    readonly host: string,
    detail: string,
  ) {
    super(`registry ${host} refused access: ${detail}`);
  }
}

/** The registry has no manifest for the tag or digest (or no such repository). */
export class ManifestUnknownError extends BerthError {
  readonly code = 'ERR_MANIFEST_UNKNOWN';

  constructor(readonly reference: string) {
    super(`manifest for ${reference} not found in the registry: check the repository name and the tag`);
  }
}

/** A manifest that berth cannot use: not JSON, an unsupported media type, no matching platform. */
export class ManifestInvalidError extends BerthError {
  readonly code = 'ERR_MANIFEST_INVALID';

  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`manifest of ${reference} cannot be used: ${reason}`);
  }
}

/** Content from the registry does not match the digest (or size) it was asked for by. */
export class DigestMismatchError extends BerthError {
  readonly code = 'ERR_DIGEST_MISMATCH';

  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly source: string,
  ) {
    super(
      `${expected} from ${source} arrived as ${actual}: the registry served damaged data; nothing was stored, try again`,
    );
  }
}

/** Any other answer of the registry that is not what the protocol says it should be. */
export class RegistryRequestError extends BerthError {
  readonly code = 'ERR_REGISTRY_REQUEST';
  override readonly retryable: boolean;

  constructor(
    readonly what: string,
    readonly status: number,
    detail: string,
  ) {
    super(`registry ${what} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.retryable = status >= 500;
  }
}

/** `berth login` was given something that is not a registry host. */
export class InvalidRegistryHostError extends BerthError {
  readonly code = 'ERR_INVALID_REGISTRY_HOST';

  constructor(readonly host: string) {
    super(`"${host}" is not a registry host: give host[:port], e.g. 127.0.0.1:5000`);
  }
}
