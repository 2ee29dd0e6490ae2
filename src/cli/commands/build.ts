/**
 * `berth build -t NAME[:TAG] [-f Containerfile] [--build-arg K=V] CONTEXT`: packs the context
 * (honoring .dockerignore) and the Dockerfile into a tar, sends it to the master, which builds, and
 * prints the step lines it streams back (`STEP 2/5: RUN … (cached)`) and the RUN output.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { decodeRecords } from '../../api/recordio.js';
import { httpStatusFor, InvalidArgumentError, RemoteError } from '../../core/errors.js';
import type { BuildEvent } from '../../image/index.js';
import { print, warn, withMaster } from '../context.js';
import { streamRequest } from './save.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface BuildOptions {
  master?: string;
  tag: string[];
  file?: string;
  buildArg: string[];
  quiet?: boolean;
}

/** The Dockerfile's name inside the context: its relative path, or a private name when it lies outside. */
export function dockerfileName(contextDir: string, file: string): string {
  const rel = relative(contextDir, file);
  if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep)) return rel.split(sep).join('/');
  return `.berth-dockerfile-${basename(file)}`;
}

export function registerBuild(program: Command): void {
  withMaster(program.command('build'))
    .description('build an image from a Dockerfile (RUN steps run in runc containers on the node)')
    .argument('<context>', 'the build context directory')
    .option('-t, --tag <name>', 'NAME[:TAG] for the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'the Dockerfile (default: CONTEXT/Dockerfile, else CONTEXT/Containerfile)')
    .option('--build-arg <KEY=VALUE>', 'a value for an ARG (repeatable)', collect, [])
    .option('-q, --quiet', 'print only the image digest')
    .addHelpText(
      'after',
      '\nExamples:\n  berth build -t app:1 .\n  berth build -t app:dev -f docker/Dockerfile.dev --build-arg VERSION=2 .',
    )
    .action(async (context: string, opts: BuildOptions) => {
      if (opts.tag.length === 0)
        throw new InvalidArgumentError('name the image: berth build -t NAME[:TAG] CONTEXT');
      const contextDir = resolve(context);
      if (!(await stat(contextDir).catch(() => undefined))?.isDirectory())
        throw new InvalidArgumentError(`build context "${context}" is not a directory`);
      const file = await findDockerfile(contextDir, opts.file);
      const name = dockerfileName(contextDir, file);
      const { contextTar } = await import('../../image/index.js');
      const pack = contextTar(contextDir, name, await readFile(file, 'utf8'));
      const query = [
        ...opts.tag.map((t) => `t=${encodeURIComponent(t)}`),
        `dockerfile=${encodeURIComponent(name)}`,
        ...opts.buildArg.map((a) => `buildarg=${encodeURIComponent(a)}`),
      ].join('&');
      const res = await streamRequest(opts.master, 'POST', `/api/v1/images/build?${query}`, {
        stream: Readable.from(pack),
        type: 'application/x-tar',
      });
      await followBuild(res, opts.quiet === true);
    });
}

async function findDockerfile(contextDir: string, file: string | undefined): Promise<string> {
  const candidates = file
    ? [resolve(file)]
    : [resolve(contextDir, 'Dockerfile'), resolve(contextDir, 'Containerfile')];
  for (const candidate of candidates)
    if ((await stat(candidate).catch(() => undefined))?.isFile()) return candidate;
  throw new InvalidArgumentError(`no Dockerfile: ${candidates.join(' or ')} not found (use -f PATH)`);
}

async function followBuild(res: AsyncIterable<Uint8Array>, quiet: boolean): Promise<void> {
  let done = false;
  for await (const event of decodeRecords<BuildEvent>(res)) {
    if (event.type === 'STEP' && !quiet)
      print(`STEP ${event.step}/${event.total}: ${event.text}${event.cached ? ' (cached)' : ''}`);
    else if (event.type === 'OUTPUT' && !quiet)
      (event.stream === 'stdout' ? process.stdout : process.stderr).write(event.data);
    else if (event.type === 'WARNING') warn(event.message);
    else if (event.type === 'DONE') {
      done = true;
      print(quiet ? event.manifestDigest : `Successfully built ${event.reference} ${event.manifestDigest}`);
    } else if (event.type === 'ERROR')
      throw new RemoteError(event.error.code, event.error.message, httpStatusFor(event.error.code));
  }
  if (!done) throw new RemoteError('ERR_UNAVAILABLE', 'the build ended without a result: try again', 503);
}
