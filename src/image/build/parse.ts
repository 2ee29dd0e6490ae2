/**
 * The Dockerfile parser: text → instructions. Pure. Follows Docker's rules: a line ending in the
 * escape character continues on the next one; comment lines (first non-blank character "#") are
 * dropped, even inside a continuation; keywords are case-insensitive; an argument list that is a JSON
 * array of strings is the exec ("JSON") form.
 */
import { DockerfileSyntaxError } from './errors.js';

export interface Instruction {
  /** Upper case: "RUN", "COPY" … */
  keyword: string;
  /** Everything after the keyword and its flags, continuations joined with a space. */
  args: string;
  /** The exec form, when `args` is a JSON array of strings. */
  json?: string[];
  /** Leading `--name=value` flags (COPY --chown, --chmod, --from). */
  flags: Record<string, string>;
  /** 1-based line where the instruction starts. */
  line: number;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const FLAG = /^--([a-z][a-z-]*)(?:=(\S*))?(?:\s+|$)/;
const FLAG_KEYWORDS = new Set(['COPY', 'ADD', 'RUN', 'FROM']);

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const escape = findEscape(lines);
  const out: Instruction[] = [];
  let pending: { start: number; parts: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) continue;
    if (trimmed === '') continue; // blank lines end nothing, even inside a continuation (as Docker)
    const continued = endsWithEscape(raw, escape);
    const content = continued ? raw.replace(/\s+$/, '').slice(0, -1) : raw;
    if (pending === undefined) pending = { start: i + 1, parts: [] };
    if (content.trim() !== '') pending.parts.push(content.trim());
    if (!continued) {
      out.push(parseInstruction(pending.parts.join(' '), pending.start));
      pending = undefined;
    }
  }
  if (pending !== undefined && pending.parts.length > 0)
    out.push(parseInstruction(pending.parts.join(' '), pending.start));
  return out;
}

/** The `# escape=` parser directive (only before any instruction or other comment text). */
function findEscape(lines: string[]): string {
  for (const line of lines) {
    const match = DIRECTIVE.exec(line.trim());
    if (!match) break;
    if (match[1]?.toLowerCase() === 'escape') {
      const value = match[2] ?? '\\';
      if (value !== '\\' && value !== '`')
        throw new DockerfileSyntaxError(1, `invalid escape character "${value}": use \\ or \``);
      return value;
    }
  }
  return '\\';
}

function endsWithEscape(line: string, escape: string): boolean {
  return line.replace(/\s+$/, '').endsWith(escape);
}

function parseInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  const keyword = (match?.[1] ?? '').toUpperCase();
  if (!/^[A-Z]+$/.test(keyword))
    throw new DockerfileSyntaxError(line, `"${match?.[1] ?? text}" is not an instruction`);
  let rest = match?.[2] ?? '';
  const flags: Record<string, string> = {};
  if (FLAG_KEYWORDS.has(keyword)) {
    for (let flag = FLAG.exec(rest); flag; flag = FLAG.exec(rest)) {
      flags[flag[1] ?? ''] = flag[2] ?? 'true';
      rest = rest.slice(flag[0].length);
    }
  }
  const instruction: Instruction = { keyword, args: rest.trim(), flags, line };
  const json = parseJsonForm(instruction.args);
  if (json !== undefined) instruction.json = json;
  return instruction;
}

/** The exec form: a JSON array of strings. Anything else (even "[" text) is the shell form. */
export function parseJsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // not JSON: the shell form, as Docker treats it
  }
  return undefined;
}
