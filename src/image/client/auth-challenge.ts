/** The `WWW-Authenticate` challenge of a registry's 401, parsed (RFC 7235 auth-params, quoted or not). */

export interface AuthChallenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

const PARAM = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;

/**
 * The first Basic or Bearer challenge in the header(s), or undefined when there is none. Param names
 * are lower-cased; quoted values are unescaped.
 */
export function parseAuthChallenge(header: string | string[] | undefined): AuthChallenge | undefined {
  const headers = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const text of headers) {
    let rest = text.trim();
    while (rest.length > 0) {
      const match = /^([A-Za-z][A-Za-z0-9-]*)\s*/.exec(rest);
      if (!match?.[1]) break;
      const scheme = match[1].toLowerCase();
      const { params, consumed } = parseParams(rest.slice(match[0].length));
      if (scheme === 'basic' || scheme === 'bearer') return { scheme, params };
      rest = rest.slice(match[0].length + consumed).replace(/^[\s,]+/, '');
    }
  }
  return undefined;
}

function parseParams(text: string): { params: Record<string, string>; consumed: number } {
  const params: Record<string, string> = {};
  PARAM.lastIndex = 0;
  let consumed = 0;
  for (let m = PARAM.exec(text); m !== null; m = PARAM.exec(text)) {
    const name = (m[1] ?? '').toLowerCase();
    params[name] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    consumed = PARAM.lastIndex;
  }
  return { params, consumed };
}

/** The token-service URL for a Bearer challenge: realm + service + every scope wanted. */
export function tokenUrl(challenge: AuthChallenge, scopes: readonly string[]): URL {
  const url = new URL(challenge.params.realm ?? '');
  const service = challenge.params.service;
  if (service) url.searchParams.set('service', service);
  const wanted = new Set<string>();
  for (const scope of (challenge.params.scope ?? '').split(' ')) if (scope) wanted.add(scope);
  for (const scope of scopes) wanted.add(scope);
  for (const scope of wanted) url.searchParams.append('scope', scope);
  return url;
}
