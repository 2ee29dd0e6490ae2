/** Pure routing of registry URLs: repository names contain slashes, so paths are matched from the right. */

export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => RegistryRoute]> = [
  [/^(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: decode(m[2]!) })],
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: decode(m[2]!) })],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: decode(m[2]!) })],
  [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: decode(m[2]!) })],
];

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The route of a request path (no query), or undefined when it is not a registry endpoint. */
export function parseRegistryPath(path: string): RegistryRoute | undefined {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (!path.startsWith('/v2/')) return undefined;
  const rest = path.slice(4);
  for (const [pattern, build] of PATTERNS) {
    const match = pattern.exec(rest);
    if (match) return build(match);
  }
  return undefined;
}

/** The path and query of a URL as a request carries it ("/v2/x?y=1"). */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return q < 0
    ? { path: url, query: new URLSearchParams() }
    : { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}

/** The `Link` header of a tag page: RFC 5988, rel="next". */
export function formatTagsLink(name: string, n: number | undefined, last: string): string {
  const query = new URLSearchParams({ ...(n !== undefined ? { n: String(n) } : {}), last });
  return `</v2/${name}/tags/list?${query.toString()}>; rel="next"`;
}
