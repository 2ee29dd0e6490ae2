/**
 * References that name a registry: `host[:port]/repo[:tag][@digest]`. The first path component is a
 * registry host when it holds a "." or a ":" or is "localhost" (the Docker rule). berth has no default
 * registry, so a reference without a host is local-only.
 */
import { formatReference, parseReference } from '../reference.js';
import { InvalidRegistryHostError, NoRegistryHostError } from './errors.js';

export interface RegistryReference {
  /** "127.0.0.1:5000" */
  host: string;
  /** The repository inside the registry: "team/app". */
  name: string;
  tag?: string;
  digest?: string;
  /** The full normalized reference, the name of the image in the local store: "127.0.0.1:5000/team/app:1". */
  local: string;
}

const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$/;

/** The registry host of a repository name ("127.0.0.1:5000/app" → "127.0.0.1:5000"), if it has one. */
export function registryHostOf(repository: string): string | undefined {
  const slash = repository.indexOf('/');
  if (slash <= 0) return undefined;
  const first = repository.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** Whether a reference names a registry (and so can be pulled or pushed). Invalid text is not. */
export function hasRegistryHost(reference: string): boolean {
  try {
    return registryHostOf(parseReference(reference).repository) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Parses a reference for a pull or push (`action` names it in the error). Throws
 * ERR_INVALID_REFERENCE for bad grammar and ERR_INVALID_REGISTRY_REFERENCE when no host is named.
 */
export function parseRegistryReference(text: string, action = 'pull'): RegistryReference {
  const ref = parseReference(text);
  const host = registryHostOf(ref.repository);
  if (host === undefined) throw new NoRegistryHostError(formatReference(ref), action);
  const out: RegistryReference = {
    host,
    name: ref.repository.slice(host.length + 1),
    local: formatReference(ref),
  };
  if (ref.tag !== undefined) out.tag = ref.tag;
  if (ref.digest !== undefined) out.digest = ref.digest;
  return out;
}

/** The manifest reference to ask the registry for: the digest when there is one, else the tag. */
export function manifestReference(ref: RegistryReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Checks a bare `host[:port]` (as `berth login` takes it) and returns it. */
export function parseRegistryHost(text: string): string {
  const host = text.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!HOST.test(host)) throw new InvalidRegistryHostError(text);
  return host;
}
