/** Pure checks of what a registry URL carries: repository names, tags and digests (OCI Distribution v1.1). */
import { DigestInvalidError, DigestUnsupportedError, NameInvalidError, TagInvalidError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The OCI image-spec digest grammar: algorithm ":" encoded. */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const ENCODED: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};
/** Clients cap "host:port/name" at 255 characters; names beyond this are refused outright. */
export const MAX_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Whether the text has the shape of a digest (any algorithm); `checkDigest` says if it is usable. */
export function looksLikeDigest(text: string): boolean {
  return text.includes(':');
}

export function checkRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) throw new NameInvalidError(name);
  return name;
}

export function checkTag(tag: string): string {
  if (!isValidTag(tag)) throw new TagInvalidError(tag);
  return tag;
}

/**
 * Returns the digest when it is a well-formed sha256 digest. A well-formed sha512 digest is refused as
 * unsupported (the content store keeps sha256 only); anything else is DIGEST_INVALID.
 */
export function checkDigest(digest: string): string {
  const match = DIGEST.test(digest) ? digest.split(':') : undefined;
  const algorithm = match?.[0];
  const encoded = match?.[1] ?? '';
  const pattern = algorithm === undefined ? undefined : ENCODED[algorithm];
  if (pattern === undefined || !pattern.test(encoded)) {
    if (algorithm !== undefined && pattern === undefined) throw new DigestUnsupportedError(digest);
    throw new DigestInvalidError(`"${digest}" is not a valid digest: use sha256:<64 hex digits>`, {
      digest,
    });
  }
  if (algorithm !== 'sha256') throw new DigestUnsupportedError(digest);
  return digest;
}

/** A manifest reference in a URL: a tag or a digest. */
export type ManifestReference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string };

export function parseManifestReference(reference: string): ManifestReference {
  if (looksLikeDigest(reference)) return { kind: 'digest', digest: checkDigest(reference) };
  return { kind: 'tag', tag: checkTag(reference) };
}
