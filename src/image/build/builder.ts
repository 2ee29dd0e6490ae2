/**
 * `berth build`: runs a Dockerfile's instructions one by one on top of a base image. Each step has a
 * cache key (the parent state's key, the instruction after substitution, the hash of what it copies);
 * a hit replays the stored result, a miss runs the step (RUN in a runc container, COPY/ADD from the
 * context) and stores it. Steps report as `STEP n/N: TEXT`, with `(cached)` on hits.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Launcher } from '../../runtime/index.js';
import { computeChildConfigFile, storeImage, type ImageStep } from '../commit.js';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import type { LayerDescriptor, OciImageConfigFile } from '../oci.js';
import type { InUseRegistry } from '../prune.js';
import { BUILD_CACHE_DIR, BuildCache, computeStepKey, type CacheEntry } from './cache.js';
import { readDockerignore } from './context.js';
import { DockerfileSyntaxError } from './errors.js';
import { executeStep, hashCopySources, type StepContext } from './execute.js';
import { parseDockerfile, type Instruction } from './parse.js';
import {
  applyMetadata,
  computeVars,
  describeStep,
  METADATA_KEYWORDS,
  SUPPORTED_KEYWORDS,
  type BuildConfig,
} from './steps.js';
import { expandPairs, expandWord } from './substitute.js';

export interface BuildRequest {
  dockerfile: string;
  contextDir: string;
  tags: string[];
  buildArgs: Record<string, string>;
}

export type BuildEvent =
  | { type: 'STEP'; step: number; total: number; text: string; cached: boolean }
  | { type: 'OUTPUT'; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'WARNING'; message: string }
  | { type: 'DONE'; reference: string; manifestDigest: string }
  | { type: 'ERROR'; error: { code: string; message: string } };

export interface BuildDeps {
  store: ImageStore;
  /** Scratch space for steps (upper dirs, staging dirs). */
  workDir: string;
  /** runc, for RUN; undefined makes RUN fail with `runtimeUnavailable`. */
  launcher?: Launcher;
  runtimeUnavailable?: string;
  registry?: InUseRegistry;
  /** Fetches a base image that is not in the store (the registry client), when there is one. */
  pull?: (reference: string) => Promise<ResolvedImage>;
  now?: () => Date;
}

export interface BuildState {
  key: string;
  base?: OciImageConfigFile;
  layers: LayerDescriptor[];
  steps: ImageStep[];
  config: BuildConfig;
  args: Map<string, string>;
  created: string;
}

export async function buildImage(
  request: BuildRequest,
  deps: BuildDeps,
  emit: (event: BuildEvent) => void,
): Promise<ResolvedImage> {
  const instructions = parseDockerfile(request.dockerfile);
  checkInstructions(instructions);
  const held = new Set<string>();
  const release = deps.registry?.hold(held) ?? (() => undefined);
  const buildDir = join(deps.workDir, `build-${randomBytes(6).toString('hex')}`);
  await mkdir(buildDir, { recursive: true });
  try {
    const ignore = await readDockerignore(request.contextDir);
    const cache = new BuildCache(join(deps.store.root, BUILD_CACHE_DIR), deps.store.content);
    const globalArgs = new Map<string, string>();
    const used = new Set<string>();
    const total = instructions.length;
    let state: BuildState | undefined;
    for (const [i, instruction] of instructions.entries()) {
      const label = `STEP ${i + 1}/${total}`;
      if (state === undefined) {
        if (instruction.keyword === 'ARG') {
          declareArg(instruction, globalArgs, globalArgs, request.buildArgs, used);
          emit({ type: 'STEP', step: i + 1, total, text: `ARG ${instruction.args}`, cached: false });
          continue;
        }
        const from = expandWord(instruction.args, globalArgs, instruction.line);
        emit({ type: 'STEP', step: i + 1, total, text: `FROM ${from}`, cached: false });
        state = await fromImage(deps, from, held);
        continue;
      }
      const ctx: StepContext = { deps, request, ignore, buildDir, label, emit, held, stepIndex: i };
      state = await runStep(instruction, state, { ctx, cache, globalArgs, used, total });
    }
    if (state === undefined) throw new DockerfileSyntaxError(1, 'the Dockerfile has no FROM');
    for (const name of Object.keys(request.buildArgs))
      if (!used.has(name))
        emit({ type: 'WARNING', message: `build arg "${name}" was not consumed by any ARG` });
    const configFile = computeChildConfigFile(state.base, state.steps, state.config, state.created);
    const image = await storeImage(deps.store, configFile, state.layers, request.tags);
    emit({ type: 'DONE', reference: image.reference, manifestDigest: image.manifestDigest });
    return image;
  } finally {
    release();
    await rm(buildDir, { recursive: true, force: true });
  }
}

function checkInstructions(instructions: Instruction[]): void {
  const first = instructions.find((i) => i.keyword !== 'ARG');
  if (first === undefined || first.keyword !== 'FROM')
    throw new DockerfileSyntaxError(first?.line ?? 1, 'the first instruction must be FROM (after ARGs)');
  for (const instruction of instructions) {
    if (!SUPPORTED_KEYWORDS.has(instruction.keyword))
      throw new DockerfileSyntaxError(
        instruction.line,
        `${instruction.keyword} is not supported by berth build`,
      );
    if (instruction.keyword === 'FROM' && instruction !== first)
      throw new DockerfileSyntaxError(
        instruction.line,
        'multi-stage builds (a second FROM) are not supported yet',
      );
    if (instruction.flags.from !== undefined)
      throw new DockerfileSyntaxError(instruction.line, '--from (multi-stage builds) is not supported yet');
  }
}

/** ARG NAME[=default]: the build arg's value wins over the default. */
function declareArg(
  instruction: Instruction,
  into: Map<string, string>,
  vars: ReadonlyMap<string, string>,
  buildArgs: Record<string, string>,
  used: Set<string>,
): void {
  const text = instruction.args.trim();
  const [name = '', defaultValue] = text.includes('=')
    ? (expandPairs(text, vars, instruction.line, false)[0] ?? [])
    : [text, undefined];
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new DockerfileSyntaxError(instruction.line, `"${name}" is not a valid ARG name`);
  used.add(name);
  const value = Object.hasOwn(buildArgs, name) ? buildArgs[name] : defaultValue;
  if (value !== undefined) into.set(name, value);
  else if (!into.has(name)) into.set(name, '');
}

async function fromImage(deps: BuildDeps, from: string, held: Set<string>): Promise<BuildState> {
  const now = (deps.now ?? (() => new Date()))().toISOString();
  if (from === 'scratch')
    return { key: 'scratch', layers: [], steps: [], config: {}, args: new Map(), created: now };
  const image = await deps.store.resolve(from).catch(async (err: unknown) => {
    if (deps.pull === undefined) throw err;
    return deps.pull(from);
  });
  held.add(image.manifestDigest).add(image.configDigest);
  for (const layer of image.layers) held.add(layer.digest).add(layer.diffId);
  const base = await deps.store.readConfigFile(image);
  return {
    key: image.configDigest,
    base,
    layers: [...image.layers],
    steps: [],
    config: { ...(base.config ?? {}) },
    args: new Map(),
    created: base.created ?? now,
  };
}

interface StepEnv {
  ctx: StepContext;
  cache: BuildCache;
  globalArgs: Map<string, string>;
  used: Set<string>;
  total: number;
}

async function runStep(instruction: Instruction, state: BuildState, env: StepEnv): Promise<BuildState> {
  const { ctx, cache } = env;
  const vars = computeVars(state.args, state.config);
  if (instruction.keyword === 'ARG') {
    const args = new Map(state.args);
    declareArg(instruction, args, new Map([...env.globalArgs, ...vars]), ctx.request.buildArgs, env.used);
    const text = `ARG ${[...args].map(([k, v]) => `${k}=${v}`).join(' ')}`;
    const key = computeStepKey(state.key, text);
    const hit = await cache.get(key);
    ctx.emit({
      type: 'STEP',
      step: ctx.stepIndex + 1,
      total: env.total,
      text: `ARG ${instruction.args}`,
      cached: !!hit,
    });
    if (!hit)
      await cache.put({
        key,
        layers: [],
        config: state.config,
        history: { created_by: text, empty_layer: true },
      });
    return { ...state, key, args };
  }
  const text = describeStep(instruction, vars);
  const display = `${instruction.keyword} ${instruction.args}`;
  const extra = instruction.keyword === 'RUN' ? [...state.args].map(([k, v]) => `${k}=${v}`) : [];
  if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') {
    extra.push(await hashCopySources(instruction, vars, ctx));
  }
  const key = computeStepKey(state.key, text, extra);
  const hit = await cache.get(key);
  ctx.emit({
    type: 'STEP',
    step: ctx.stepIndex + 1,
    total: env.total,
    text: display,
    cached: hit !== undefined,
  });
  const entry = hit ?? (await computeEntry(instruction, state, vars, text, key, ctx));
  if (hit === undefined) await cache.put(entry);
  for (const layer of entry.layers) ctx.held.add(layer.digest).add(layer.diffId);
  const layer = entry.layers[0];
  return {
    ...state,
    key,
    layers: [...state.layers, ...entry.layers],
    steps: [...state.steps, { ...(layer ? { layer } : {}), history: entry.history }],
    config: entry.config,
    created: entry.history.created ?? state.created,
  };
}

async function computeEntry(
  instruction: Instruction,
  state: BuildState,
  vars: Map<string, string>,
  text: string,
  key: string,
  ctx: StepContext,
): Promise<CacheEntry> {
  const created = (ctx.deps.now ?? (() => new Date()))().toISOString();
  if (METADATA_KEYWORDS.has(instruction.keyword)) {
    const config = applyMetadata(instruction, state.config, vars);
    return { key, layers: [], config, history: { created, created_by: text, empty_layer: true } };
  }
  const layer = await executeStep(instruction, state, vars, ctx);
  return { key, layers: [layer], config: state.config, history: { created, created_by: text } };
}
