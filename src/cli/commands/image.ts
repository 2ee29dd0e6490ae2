import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { shortId } from '../../core/ids.js';
import { formatAge, formatBytes } from '../../core/units.js';
import type { ImageSummary, ResolvedImage } from '../../image/index.js';
import { clientFor, print, withMaster } from '../context.js';
import { formatTable } from '../table.js';

function listImages(program: Command, name: string, description: string): void {
  withMaster(program.command(name))
    .description(description)
    .addHelpText('after', `\nExample:\n  berth ${name === 'ls' ? 'image ls' : name}`)
    .action(async (opts: { master?: string }) => {
      const { images } = await clientFor(opts).get<{ images: ImageSummary[] }>('/api/v1/images');
      const now = Date.now();
      const rows = images.map((i) => [
        i.repository,
        i.tag,
        shortId(i.digest.replace(/^sha256:/, '')),
        formatBytes(i.size),
        formatAge(now - Date.parse(i.created)),
      ]);
      print(formatTable(['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'CREATED'], rows));
    });
}

/** A tar stream of the source: a directory is packed here; a tar file (plain or gzip) is sent as it is. */
async function sourceStream(source: string): Promise<{ stream: Readable; type: string }> {
  // The image module and tar-stream load only for an import, to keep other commands quick to start.
  const [{ ImportSourceNotFoundError, packDirectory }, { default: tar }, { Readable }] = await Promise.all([
    import('../../image/index.js'),
    import('tar-stream'),
    import('node:stream'),
  ]);
  const info = await stat(source).catch((err: unknown) => {
    throw new ImportSourceNotFoundError(source, { cause: err });
  });
  if (!info.isDirectory()) return { stream: createReadStream(source), type: 'application/x-tar' };
  const pack = tar.pack();
  packDirectory(source, pack).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  return { stream: Readable.from(pack), type: 'application/x-tar' };
}

export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('manage images');
  withMaster(image.command('import'))
    .description('make a one-layer image from a root file system (a directory, or a tar file, plain or gzip)')
    .argument('<source>', 'directory or tar file')
    .argument('<name>', 'NAME[:TAG] (the tag defaults to latest)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth image import ./rootfs busybox\n  berth image import alpine-minirootfs.tar.gz alpine:3.20',
    )
    .action(async (source: string, name: string, opts: { master?: string }) => {
      const { parseReference } = await import('../../image/index.js');
      const ref = parseReference(name);
      const { stream, type } = await sourceStream(source);
      const reference = `${ref.repository}:${ref.tag ?? 'latest'}`;
      const result = await clientFor(opts).upload<ResolvedImage>(
        `/api/v1/images/import?reference=${encodeURIComponent(reference)}&source=${encodeURIComponent(basename(source))}`,
        stream,
        type,
      );
      print(`${result.reference} ${result.manifestDigest}`);
    });
  listImages(image, 'ls', 'list images');
  listImages(program, 'images', 'list images');
}
