/**
 * Variable substitution and word splitting for Dockerfile instructions (ENV, ARG, LABEL, COPY …),
 * as Docker's shell lexer does: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`; no expansion
 * inside single quotes; `\$` is a literal dollar; quotes are removed from the words. Pure.
 */
import { DockerfileSyntaxError } from './errors.js';

export type Vars = ReadonlyMap<string, string>;

interface Lexer {
  text: string;
  pos: number;
  vars: Vars;
  line: number;
}

/** The words of `text`, expanded and unquoted: `a "b c" $X` → ["a", "b c", value of X]. */
export function expandWords(text: string, vars: Vars, line = 0): string[] {
  const lx: Lexer = { text, pos: 0, vars, line };
  const words: string[] = [];
  for (;;) {
    while (lx.pos < text.length && /\s/.test(text[lx.pos] ?? '')) lx.pos++;
    if (lx.pos >= text.length) return words;
    words.push(readWord(lx, true));
  }
}

/** `text` expanded and unquoted as one word (spaces kept): for WORKDIR, USER, FROM. */
export function expandWord(text: string, vars: Vars, line = 0): string {
  return readWord({ text, pos: 0, vars, line }, false);
}

function readWord(lx: Lexer, stopAtSpace: boolean): string {
  let out = '';
  while (lx.pos < lx.text.length) {
    const ch = lx.text[lx.pos] ?? '';
    if (stopAtSpace && /\s/.test(ch)) break;
    lx.pos++;
    if (ch === "'") out += readUntil(lx, "'");
    else if (ch === '"') out += readDoubleQuoted(lx);
    else if (ch === '\\') out += readEscape(lx);
    else if (ch === '$') out += readVariable(lx);
    else out += ch;
  }
  return out;
}

function readUntil(lx: Lexer, end: string): string {
  const close = lx.text.indexOf(end, lx.pos);
  if (close === -1) throw new DockerfileSyntaxError(lx.line, `unmatched ${end} in "${lx.text}"`);
  const out = lx.text.slice(lx.pos, close);
  lx.pos = close + 1;
  return out;
}

function readDoubleQuoted(lx: Lexer): string {
  let out = '';
  while (lx.pos < lx.text.length) {
    const ch = lx.text[lx.pos++] ?? '';
    if (ch === '"') return out;
    if (ch === '\\') {
      const next = lx.text[lx.pos] ?? '';
      if ('"\\$'.includes(next) && next !== '') {
        out += next;
        lx.pos++;
      } else out += ch;
    } else if (ch === '$') out += readVariable(lx);
    else out += ch;
  }
  throw new DockerfileSyntaxError(lx.line, `unmatched " in "${lx.text}"`);
}

function readEscape(lx: Lexer): string {
  if (lx.pos >= lx.text.length) return '\\';
  return lx.text[lx.pos++] ?? '';
}

function readVariable(lx: Lexer): string {
  const rest = lx.text.slice(lx.pos);
  const simple = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
  if (simple) {
    lx.pos += simple[0].length;
    return lx.vars.get(simple[0]) ?? '';
  }
  if (!rest.startsWith('{')) return '$';
  const close = findClosingBrace(rest);
  if (close === -1) throw new DockerfileSyntaxError(lx.line, `missing } in "${lx.text}"`);
  lx.pos += close + 1;
  return expandBraced(rest.slice(1, close), lx);
}

function findClosingBrace(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** The inside of `${…}`: NAME, NAME:-word, NAME-word, NAME:+word, NAME+word. */
function expandBraced(inner: string, lx: Lexer): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([\s\S]*))?$/.exec(inner);
  if (!match) throw new DockerfileSyntaxError(lx.line, `bad substitution "\${${inner}}"`);
  const name = match[1] ?? '';
  const op = match[2];
  const value = lx.vars.get(name);
  if (op === undefined) return value ?? '';
  const word = expandWord(match[3] ?? '', lx.vars, lx.line);
  const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  if (op.endsWith('-')) return set ? (value ?? '') : word;
  return set ? word : '';
}

/**
 * `KEY=VALUE …` pairs (ENV, LABEL, ARG), or the old `ENV KEY VALUE WITH SPACES` form when the first
 * word has no "=" and `legacy` allows it.
 */
export function expandPairs(
  text: string,
  vars: Vars,
  line: number,
  legacy: boolean,
): Array<[string, string]> {
  const first = /^(\S+)\s+([\s\S]*)$/.exec(text.trim());
  if (legacy && first && !(first[1] ?? '').includes('=')) {
    return [[first[1] ?? '', expandWord(first[2] ?? '', vars, line)]];
  }
  return expandWords(text, vars, line).map((word) => {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new DockerfileSyntaxError(line, `"${word}" is not KEY=VALUE`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}
