/**
 * The registry's errors. Each class carries a berth `code`; `ociErrorFor` is the one place that maps a
 * code to the OCI Distribution error code and HTTP status served in `{"errors":[{code,message,detail}]}`.
 */
import { BerthError } from '../core/errors.js';

export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

/** A registry error; `detail` is served as the OCI error's `detail`, `headers` go on the response. */
export abstract class RegistryError extends BerthError {
  detail: unknown = undefined;
  headers: Record<string, string> = {};
}

export class BlobUnknownError extends RegistryError {
  readonly code = 'ERR_REGISTRY_BLOB_UNKNOWN';
  constructor(readonly digest: string) {
    super(`blob ${digest} is not in this repository`);
    this.detail = { digest };
  }
}

export class BlobUploadInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_BLOB_UPLOAD_INVALID';
}

/** A chunk that does not start where the upload ends: 416, with the `Range` the upload has. */
export class UploadRangeError extends RegistryError {
  readonly code = 'ERR_REGISTRY_UPLOAD_RANGE';
  constructor(
    message: string,
    readonly uploaded: number,
    location: string,
  ) {
    super(message);
    this.headers = { range: `0-${Math.max(0, uploaded - 1)}`, location };
  }
}

export class BlobUploadUnknownError extends RegistryError {
  readonly code = 'ERR_REGISTRY_BLOB_UPLOAD_UNKNOWN';
  constructor(readonly uploadId: string) {
    super(`upload ${uploadId} is not in progress in this repository: start a new one`);
  }
}

export class DigestInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_DIGEST_INVALID';
  constructor(message: string, detail?: unknown) {
    super(message);
    this.detail = detail;
  }
}

/** A digest algorithm other than sha256. */
export class DigestUnsupportedError extends RegistryError {
  readonly code = 'ERR_REGISTRY_DIGEST_UNSUPPORTED';
  constructor(readonly digest: string) {
    super(`digest algorithm of "${digest}" is not supported: use sha256`);
  }
}

export class ManifestBlobUnknownError extends RegistryError {
  readonly code = 'ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN';
  constructor(readonly missing: readonly string[]) {
    super(`manifest references content not in this repository: ${missing.join(', ')}; push it first`);
    this.detail = { missing };
  }
}

export class ManifestInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_MANIFEST_INVALID';
}

export class ManifestUnknownError extends RegistryError {
  readonly code = 'ERR_REGISTRY_MANIFEST_UNKNOWN';
  constructor(
    readonly repository: string,
    readonly reference: string,
  ) {
    super(`manifest ${repository}:${reference} is not in the registry`);
    this.detail = { name: repository, reference };
  }
}

export class NameInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_NAME_INVALID';
  constructor(readonly repository: string) {
    super(`invalid repository name "${repository}": use lowercase path components such as "team/app"`);
  }
}

/** A tag that does not match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export class TagInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_TAG_INVALID';
  constructor(readonly tag: string) {
    super(
      `invalid tag "${tag}": use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
}

export class NameUnknownError extends RegistryError {
  readonly code = 'ERR_REGISTRY_NAME_UNKNOWN';
  constructor(readonly repository: string) {
    super(`repository "${repository}" is not in the registry`);
  }
}

export class SizeInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_SIZE_INVALID';
}

/** A manifest or request body over the limit: 413. */
export class PayloadTooLargeError extends RegistryError {
  readonly code = 'ERR_REGISTRY_PAYLOAD_TOO_LARGE';
  constructor(what: string, limit: number) {
    super(`${what} is larger than the limit of ${limit} bytes`);
    this.detail = { limit };
  }
}

export class RegistryUnauthorizedError extends RegistryError {
  readonly code = 'ERR_REGISTRY_UNAUTHORIZED';
  constructor(realm: string) {
    super('authentication required: log in with a user from the registry htpasswd file');
    this.headers = { 'www-authenticate': `Basic realm="${realm}"` };
  }
}

export class DeniedError extends RegistryError {
  readonly code = 'ERR_REGISTRY_DENIED';
}

export class UnsupportedError extends RegistryError {
  readonly code = 'ERR_REGISTRY_UNSUPPORTED';
}

export class TooManyRequestsError extends RegistryError {
  readonly code = 'ERR_REGISTRY_TOO_MANY_REQUESTS';
  override readonly retryable = true;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** A tag list page size (`n`) that is not a whole number. */
export class PaginationInvalidError extends RegistryError {
  readonly code = 'ERR_REGISTRY_PAGINATION_INVALID';
}

/** A route the registry does not serve (404 with NAME_UNKNOWN would be wrong: it is not a repository). */
export class RouteUnknownError extends RegistryError {
  readonly code = 'ERR_REGISTRY_ROUTE_UNKNOWN';
}

/** An htpasswd file that cannot be used. */
export class HtpasswdError extends RegistryError {
  readonly code = 'ERR_REGISTRY_HTPASSWD';
}

const OCI_ERRORS: Readonly<Record<string, readonly [OciErrorCode, number]>> = {
  ERR_REGISTRY_BLOB_UNKNOWN: ['BLOB_UNKNOWN', 404],
  ERR_REGISTRY_BLOB_UPLOAD_INVALID: ['BLOB_UPLOAD_INVALID', 400],
  ERR_REGISTRY_UPLOAD_RANGE: ['BLOB_UPLOAD_INVALID', 416],
  ERR_REGISTRY_BLOB_UPLOAD_UNKNOWN: ['BLOB_UPLOAD_UNKNOWN', 404],
  ERR_REGISTRY_DIGEST_INVALID: ['DIGEST_INVALID', 400],
  ERR_REGISTRY_DIGEST_UNSUPPORTED: ['UNSUPPORTED', 400],
  ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN: ['MANIFEST_BLOB_UNKNOWN', 400],
  ERR_REGISTRY_MANIFEST_INVALID: ['MANIFEST_INVALID', 400],
  ERR_REGISTRY_MANIFEST_UNKNOWN: ['MANIFEST_UNKNOWN', 404],
  ERR_REGISTRY_NAME_INVALID: ['NAME_INVALID', 400],
  ERR_REGISTRY_TAG_INVALID: ['MANIFEST_INVALID', 400],
  ERR_REGISTRY_NAME_UNKNOWN: ['NAME_UNKNOWN', 404],
  ERR_REGISTRY_SIZE_INVALID: ['SIZE_INVALID', 400],
  ERR_REGISTRY_PAYLOAD_TOO_LARGE: ['SIZE_INVALID', 413],
  ERR_REGISTRY_UNAUTHORIZED: ['UNAUTHORIZED', 401],
  ERR_REGISTRY_DENIED: ['DENIED', 403],
  ERR_REGISTRY_UNSUPPORTED: ['UNSUPPORTED', 405],
  ERR_REGISTRY_TOO_MANY_REQUESTS: ['TOOMANYREQUESTS', 429],
  ERR_REGISTRY_PAGINATION_INVALID: ['UNSUPPORTED', 400],
  ERR_REGISTRY_ROUTE_UNKNOWN: ['UNSUPPORTED', 404],
};

/** The OCI error code and HTTP status for a berth error code; undefined for codes that are not the client's fault. */
export function ociErrorFor(code: string): { oci: OciErrorCode; status: number } | undefined {
  const entry = OCI_ERRORS[code];
  return entry ? { oci: entry[0], status: entry[1] } : undefined;
}
