/**
 * What the metadata instructions (ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL) do to the
 * image config, and how every instruction reads as a cache-key text. Pure.
 */
import { posix } from 'node:path';
import type { ImageConfig } from '../oci.js';
import { DockerfileSyntaxError } from './errors.js';
import type { Instruction } from './parse.js';
import { expandPairs, expandWord, expandWords, type Vars } from './substitute.js';

/** The image config as a build writes it: the runtime part plus EXPOSE's ports. */
export interface BuildConfig extends ImageConfig {
  ExposedPorts?: Record<string, Record<string, never>>;
}

export const METADATA_KEYWORDS = new Set(['ENV', 'WORKDIR', 'USER', 'CMD', 'ENTRYPOINT', 'EXPOSE', 'LABEL']);
export const SUPPORTED_KEYWORDS = new Set([...METADATA_KEYWORDS, 'FROM', 'RUN', 'COPY', 'ADD', 'ARG']);

/** Variables visible to an instruction: build args, overridden by the image's ENV. */
export function computeVars(args: ReadonlyMap<string, string>, config: BuildConfig): Map<string, string> {
  const vars = new Map(args);
  for (const [k, v] of envEntries(config.Env ?? [])) vars.set(k, v);
  return vars;
}

export function envEntries(env: readonly string[]): Array<[string, string]> {
  return env.map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

/** `KEY=VALUE` list with `key` set to `value` (replacing it in place, or appended). */
export function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = env.filter((pair) => !pair.startsWith(`${key}=`) && pair !== key);
  const index = env.findIndex((pair) => pair.startsWith(`${key}=`) || pair === key);
  const entry = `${key}=${value}`;
  if (index < 0) return [...out, entry];
  out.splice(index, 0, entry);
  return out;
}

/** CMD / ENTRYPOINT / RUN argv: the exec form as given, the shell form under `/bin/sh -c`. */
export function commandArgs(instruction: Instruction): string[] {
  return instruction.json ?? ['/bin/sh', '-c', instruction.args];
}

/** The new config after a metadata instruction. */
export function applyMetadata(instruction: Instruction, config: BuildConfig, vars: Vars): BuildConfig {
  const { keyword, args, line } = instruction;
  switch (keyword) {
    case 'ENV': {
      let env = config.Env ?? [];
      const scope = new Map(vars);
      for (const [k, v] of expandPairs(args, scope, line, true)) {
        env = setEnv(env, k, v);
        scope.set(k, v);
      }
      return { ...config, Env: env };
    }
    case 'LABEL': {
      const labels = { ...config.Labels };
      for (const [k, v] of expandPairs(args, vars, line, true)) labels[k] = v;
      return { ...config, Labels: labels };
    }
    case 'WORKDIR': {
      const dir = expandWord(args, vars, line);
      if (dir === '') throw new DockerfileSyntaxError(line, 'WORKDIR needs a path');
      return { ...config, WorkingDir: posix.resolve(config.WorkingDir || '/', dir) };
    }
    case 'USER': {
      const user = expandWord(args, vars, line);
      if (user === '') throw new DockerfileSyntaxError(line, 'USER needs a user name or id');
      return { ...config, User: user };
    }
    case 'CMD':
      return { ...config, Cmd: commandArgs(instruction) };
    case 'ENTRYPOINT': {
      const next: BuildConfig = { ...config, Entrypoint: commandArgs(instruction) };
      delete next.Cmd; // a new ENTRYPOINT drops the base image's CMD, as Docker does
      return next;
    }
    case 'EXPOSE': {
      const ports = { ...config.ExposedPorts };
      for (const word of expandWords(args, vars, line)) {
        if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(word))
          throw new DockerfileSyntaxError(line, `"${word}" is not a port (PORT or PORT/PROTO)`);
        ports[word.includes('/') ? word : `${word}/tcp`] = {};
      }
      return { ...config, ExposedPorts: ports };
    }
    default:
      throw new DockerfileSyntaxError(line, `${keyword} is not a metadata instruction`);
  }
}

/** The text that names a step in history and in its cache key (after substitution where it applies). */
export function describeStep(instruction: Instruction, vars: Vars): string {
  const { keyword, args, line } = instruction;
  const flags = Object.entries(instruction.flags)
    .map(([k, v]) => `--${k}=${v} `)
    .join('');
  if (instruction.json && keyword !== 'COPY' && keyword !== 'ADD')
    return `${keyword} ${JSON.stringify(instruction.json)}`;
  if (keyword === 'RUN' || keyword === 'CMD' || keyword === 'ENTRYPOINT') return `${keyword} ${flags}${args}`;
  const words = instruction.json ?? expandWords(args, vars, line);
  return `${keyword} ${flags}${words.join(' ')}`;
}
