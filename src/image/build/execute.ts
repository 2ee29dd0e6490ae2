/**
 * The steps that make layers: RUN (in a runc container) and COPY/ADD (staged from the context).
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readFile, rm, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { writeDiffLayer } from '../diff.js';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import type { LayerDescriptor } from '../oci.js';
import type { BuildDeps, BuildEvent, BuildRequest, BuildState } from './builder.js';
import { hashSources, resolveSources, stageSources } from './copy.js';
import { cleanPath, type IgnorePattern } from './dockerignore.js';
import { BuildRuntimeUnavailableError, BuildStepFailedError, DockerfileSyntaxError } from './errors.js';
import type { Instruction } from './parse.js';
import { runInContainer } from './run.js';
import { commandArgs, envEntries } from './steps.js';
import { expandWords, type Vars } from './substitute.js';
import { computeUserIds } from './user.js';

export interface StepContext {
  deps: BuildDeps;
  request: BuildRequest;
  ignore: IgnorePattern[];
  buildDir: string;
  label: string;
  stepIndex: number;
  emit: (event: BuildEvent) => void;
  /** Digests this build uses, for prune. */
  held: Set<string>;
}

/** The unpacked layer dirs of a chain, top first (what overlayfs wants). */
export function chainDirs(store: ImageStore, layers: LayerDescriptor[]): Promise<string[]> {
  const image: ResolvedImage = {
    reference: '',
    manifestDigest: '',
    configDigest: '',
    config: {},
    created: '',
    layers,
    size: 0,
  };
  return store.prepareLayers(image);
}

export async function executeStep(
  instruction: Instruction,
  state: BuildState,
  vars: Vars,
  ctx: StepContext,
): Promise<LayerDescriptor> {
  const stepDir = join(ctx.buildDir, `step-${ctx.stepIndex + 1}`);
  await mkdir(stepDir, { recursive: true });
  try {
    const layer =
      instruction.keyword === 'RUN'
        ? await executeRun(instruction, state, stepDir, ctx)
        : await executeCopy(instruction, state, vars, stepDir, ctx);
    return { mediaType: layer.mediaType, digest: layer.digest, size: layer.size, diffId: layer.diffId };
  } finally {
    await rm(stepDir, { recursive: true, force: true });
  }
}

async function executeRun(instruction: Instruction, state: BuildState, stepDir: string, ctx: StepContext) {
  const launcher = ctx.deps.launcher;
  if (launcher === undefined)
    throw new BuildRuntimeUnavailableError(ctx.deps.runtimeUnavailable ?? 'no runtime');
  const env: Record<string, string> = Object.fromEntries(state.args);
  for (const [k, v] of envEntries(state.config.Env ?? [])) env[k] = v;
  const step = `${ctx.label}: RUN ${instruction.args}`;
  const result = await runInContainer(launcher, {
    id: `berth-build-${randomBytes(6).toString('hex')}`,
    stepDir,
    lowerDirs: await chainDirs(ctx.deps.store, state.layers),
    args: commandArgs(instruction),
    env,
    cwd: state.config.WorkingDir || '/',
    ...(state.config.User ? { user: state.config.User } : {}),
    step,
    onOutput: (stream, data) => ctx.emit({ type: 'OUTPUT', stream, data: data.toString('utf8') }),
  });
  const { exitCode, signal, message } = result.status;
  if (exitCode !== 0) {
    const why =
      exitCode !== null ? `exit code ${exitCode}` : signal ? `killed by ${signal}` : (message ?? 'lost');
    throw new BuildStepFailedError(step, `the command failed (${why})`);
  }
  return writeDiffLayer(ctx.deps.store.content, result.upperDir, { overlay: true });
}

interface CopyPlan {
  sources: string[];
  dest: string;
}

function planCopy(instruction: Instruction, vars: Vars): CopyPlan {
  const words = instruction.json ?? expandWords(instruction.args, vars, instruction.line);
  if (words.length < 2)
    throw new DockerfileSyntaxError(
      instruction.line,
      `${instruction.keyword} needs a source and a destination`,
    );
  const sources = words.slice(0, -1);
  const dest = words[words.length - 1] ?? '';
  for (const source of sources)
    if (/^[a-z]+:\/\//i.test(source))
      throw new DockerfileSyntaxError(
        instruction.line,
        `${instruction.keyword} from a URL is not supported ("${source}")`,
      );
  return { sources, dest };
}

/** The content hash of what a COPY/ADD copies: part of its cache key. */
export async function hashCopySources(
  instruction: Instruction,
  vars: Vars,
  ctx: StepContext,
): Promise<string> {
  const plan = planCopy(instruction, vars);
  const step = `${ctx.label}: ${instruction.keyword} ${instruction.args}`;
  const sources = await resolveSources(ctx.request.contextDir, plan.sources, ctx.ignore, step);
  return hashSources(sources, ctx.ignore);
}

async function executeCopy(
  instruction: Instruction,
  state: BuildState,
  vars: Vars,
  stepDir: string,
  ctx: StepContext,
) {
  const plan = planCopy(instruction, vars);
  const step = `${ctx.label}: ${instruction.keyword} ${instruction.args}`;
  const sources = await resolveSources(ctx.request.contextDir, plan.sources, ctx.ignore, step);
  const lowerDirs = await chainDirs(ctx.deps.store, state.layers);
  const destAbs = posix.resolve(state.config.WorkingDir || '/', plan.dest);
  const destRel = cleanPath(destAbs);
  const existing = destRel === '' ? undefined : await statInChain(lowerDirs, destRel);
  const destIsDir = destRel === '' || existing?.isDirectory() === true;
  const staging = join(stepDir, 'staging');
  await mkdir(staging);
  const owner = await parseChown(instruction.flags.chown, lowerDirs, step);
  const mode = parseChmod(instruction.flags.chmod, instruction.line);
  const trailing = plan.dest.endsWith('/') || plan.dest === '.';
  const intoDir = trailing || destIsDir || sources.length > 1 || sources.some((s) => s.stats.isDirectory());
  const made = await makeParents(staging, intoDir ? destRel : posix.dirname(destRel), lowerDirs);
  await stageSources({
    sources,
    dest: trailing || destIsDir ? `${destAbs}/` : destAbs,
    stagingDir: staging,
    owner,
    ...(mode !== undefined ? { mode } : {}),
    extractArchives: instruction.keyword === 'ADD',
    ignore: ctx.ignore,
    destIsDir,
    step,
  });
  await restoreDirTimes(staging, made);
  return writeDiffLayer(ctx.deps.store.content, staging, { overlay: false });
}

/** The stats of a path in the merged chain (top layer first), or undefined if absent or whited out. */
export async function statInChain(lowerDirs: string[], rel: string): Promise<Stats | undefined> {
  for (const dir of lowerDirs) {
    const stats = await lstat(join(dir, rel)).catch(() => undefined);
    if (stats === undefined) continue;
    if (stats.isCharacterDevice() && stats.rdev === 0) return undefined;
    return stats;
  }
  return undefined;
}

/** Makes `rel` and its ancestors in the staging dir, with the image's metadata where they exist. */
async function makeParents(
  staging: string,
  rel: string,
  lowerDirs: string[],
): Promise<Array<[string, Stats | undefined]>> {
  const made: Array<[string, Stats | undefined]> = [];
  const parts = rel === '' || rel === '.' ? [] : rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join('/');
    const stats = await statInChain(lowerDirs, path);
    await mkdir(join(staging, path));
    await chmod(join(staging, path), stats?.isDirectory() ? stats.mode & 0o7777 : 0o755);
    await lchown(join(staging, path), stats?.uid ?? 0, stats?.gid ?? 0);
    made.push([path, stats]);
  }
  return made;
}

async function restoreDirTimes(staging: string, made: Array<[string, Stats | undefined]>): Promise<void> {
  for (const [path, stats] of [...made].reverse()) {
    if (stats?.isDirectory()) await utimes(join(staging, path), stats.atime, stats.mtime);
  }
}

async function parseChown(flag: string | undefined, lowerDirs: string[], step: string) {
  if (flag === undefined) return { uid: 0, gid: 0 };
  const readEtc = async (name: string): Promise<string> => {
    const stats = await statInChain(lowerDirs, `etc/${name}`);
    if (!stats?.isFile()) return '';
    for (const dir of lowerDirs) {
      const text = await readFile(join(dir, 'etc', name), 'utf8').catch(() => undefined);
      if (text !== undefined) return text;
    }
    return '';
  };
  return computeUserIds(flag, await readEtc('passwd'), await readEtc('group'), step);
}

function parseChmod(flag: string | undefined, line: number): number | undefined {
  if (flag === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(flag))
    throw new DockerfileSyntaxError(line, `--chmod=${flag} is not an octal mode`);
  return parseInt(flag, 8);
}
