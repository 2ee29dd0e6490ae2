import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import type { ResolvedImage } from '../../image/index.js';
import { print, withMaster } from '../context.js';
import { streamRequest } from './save.js';

export function registerLoad(program: Command): void {
  withMaster(program.command('load'))
    .description('load images from an OCI layout archive or a docker-archive (docker save), plain or gzip')
    .requiredOption('-i, --input <file>', 'the archive to read')
    .option('-t, --tag <name>', 'name for the image (when the archive names none, or to rename it)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth load -i busybox.tar\n  berth load -i app.docker.tar -t app:imported',
    )
    .action(async (opts: { master?: string; input: string; tag?: string }) => {
      const info = await stat(opts.input).catch(() => undefined);
      if (!info?.isFile())
        throw new InvalidArgumentError(`"${opts.input}" is not a file: give an archive with -i`);
      const query = opts.tag ? `?tag=${encodeURIComponent(opts.tag)}` : '';
      const res = await streamRequest(opts.master, 'POST', `/api/v1/images/load${query}`, {
        stream: createReadStream(opts.input),
        type: 'application/x-tar',
      });
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const { images } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { images: ResolvedImage[] };
      for (const image of images) print(`Loaded ${image.reference} ${image.manifestDigest}`);
    });
}
