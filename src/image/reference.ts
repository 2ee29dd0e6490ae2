import { InvalidReferenceError } from './errors.js';

export interface ParsedReference {
  repository: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_TAG = 'latest';

// The grammar of github.com/distribution/reference, without Docker Hub's "library/" rewriting.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MAX_REPOSITORY_LENGTH = 255;

/**
 * Parses "name[:tag][@digest]". A reference without tag or digest gets the tag "latest". Throws
 * InvalidReferenceError with the reason when the text does not follow the grammar.
 */
export function parseReference(text: string): ParsedReference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(text, reason);
  };
  if (text.length === 0) fail('it is empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail('the digest must be "sha256:" followed by 64 lower-case hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      fail('a tag is 1 to 128 letters, digits, "_", "." or "-" and cannot start with "." or "-"');
  }
  const problem = checkRepository(rest);
  if (problem !== undefined) fail(problem);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const parsed: ParsedReference = { repository: rest };
  if (tag !== undefined) parsed.tag = tag;
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

/** Why a repository name is invalid, or undefined when it is valid. */
function checkRepository(repository: string): string | undefined {
  if (repository.length === 0) return 'the repository name is empty';
  if (repository.length > MAX_REPOSITORY_LENGTH)
    return `the repository name is longer than ${MAX_REPOSITORY_LENGTH} characters`;
  const parts = repository.split('/');
  const first = parts[0] ?? '';
  const hasDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasDomain && !DOMAIN.test(first)) return `"${first}" is not a valid registry host`;
  for (const part of hasDomain ? parts.slice(1) : parts) {
    if (part !== part.toLowerCase()) return 'repository names must be lower case';
    if (!COMPONENT.test(part))
      return `"${part}" is not a valid path component (use a-z, 0-9 and single separators . _ -)`;
  }
  return undefined;
}

/** The normal text form: "repo:tag", "repo@digest" or "repo:tag@digest". */
export function formatReference(ref: ParsedReference): string {
  return (
    ref.repository +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest !== undefined ? `@${ref.digest}` : '')
  );
}

/** Parses and re-formats, so that "busybox" becomes "busybox:latest". */
export function normalizeReference(text: string): string {
  return formatReference(parseReference(text));
}
