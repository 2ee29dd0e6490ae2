/**
 * `.dockerignore` matching, as Docker's patternmatcher does: patterns are cleaned paths relative to
 * the context root; `*` and `?` stay inside one path component, `**` spans any number of them; a
 * leading `!` re-includes; the last pattern that matches a path — or one of its parent directories —
 * decides. Pure.
 */

export interface IgnorePattern {
  text: string;
  negated: boolean;
  regexp: RegExp;
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    const cleaned = cleanPath(line);
    if (cleaned === '') continue;
    out.push({ text: cleaned, negated, regexp: patternToRegExp(cleaned) });
  }
  return out;
}

/** Like Go's filepath.Clean for a relative pattern: no leading "/", "./", "." or trailing "/". */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

export function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        const body = pattern
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else if (ch === '\\' && i + 1 < pattern.length) {
      i++;
      re += escapeChar(pattern[i] ?? '');
    } else re += escapeChar(ch);
  }
  return new RegExp(`^${re}$`);
}

function escapeChar(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

/** Whether `path` (relative, "a/b/c") is left out of the context. */
export function isIgnored(path: string, patterns: readonly IgnorePattern[]): boolean {
  const candidates = [path];
  for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1))
    candidates.push(path.slice(0, slash));
  let ignored = false;
  for (const pattern of patterns) {
    if (candidates.some((c) => pattern.regexp.test(c))) ignored = !pattern.negated;
  }
  return ignored;
}

/**
 * Whether a walk must look inside an ignored directory: some `!` pattern could re-include a path
 * below it.
 */
export function mayReinclude(dir: string, patterns: readonly IgnorePattern[]): boolean {
  return patterns.some((p) => p.negated && (p.text.startsWith(`${dir}/`) || p.text.includes('*')));
}
