import { BerthError } from '../core/errors.js';

/** No image with this reference is in the local store. */
export class ImageNotFoundError extends BerthError {
  readonly code = 'ERR_IMAGE_NOT_FOUND';

  constructor(readonly reference: string) {
    super(`image "${reference}" not found: import it with \`berth image import DIR ${reference}\``);
  }
}

/** A reference ("repo:tag", "repo@sha256:…") that does not follow the grammar. */
export class InvalidReferenceError extends BerthError {
  readonly code = 'ERR_INVALID_REFERENCE';

  constructor(
    readonly reference: string,
    readonly reason: string,
  ) {
    super(`invalid image reference "${reference}": ${reason}`);
  }
}

/** A blob the store was asked for is not there. */
export class BlobNotFoundError extends BerthError {
  readonly code = 'ERR_BLOB_NOT_FOUND';

  constructor(
    readonly digest: string,
    options?: { cause?: unknown },
  ) {
    super(`blob ${digest} not found in the content store`, options);
  }
}

/** The bytes of a blob do not hash to its digest (damaged on disk or in transit). */
export class BlobCorruptError extends BerthError {
  readonly code = 'ERR_BLOB_CORRUPT';

  constructor(
    readonly digest: string,
    readonly actual: string,
  ) {
    super(
      `blob ${digest} is corrupt: its content hashes to ${actual}; remove the image and import or pull it again`,
    );
  }
}

/** A layer (or an import source) holds an entry berth refuses to write. */
export class BadLayerError extends BerthError {
  readonly code = 'ERR_BAD_LAYER';

  constructor(
    message: string,
    readonly entry?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `berth image import` was given a path that does not exist. */
export class ImportSourceNotFoundError extends BerthError {
  readonly code = 'ERR_IMPORT_SOURCE_NOT_FOUND';

  constructor(
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(`import source "${source}" does not exist: give a directory or a tar file`, options);
  }
}
