import type { Command } from 'commander';
import type { ResolvedImage } from '../../image/index.js';
import { clientFor, print, withMaster } from '../context.js';

export function registerTag(program: Command): void {
  withMaster(program.command('tag'))
    .description('give an image another name')
    .argument('<source>', 'image NAME[:TAG] or NAME@DIGEST')
    .argument('<target>', 'new NAME[:TAG]')
    .addHelpText('after', '\nExample:\n  berth tag busybox:latest 127.0.0.1:5000/busybox:1')
    .action(async (source: string, target: string, opts: { master?: string }) => {
      const image = await clientFor(opts).post<ResolvedImage>('/api/v1/images/tag', { source, target });
      print(`${image.reference} ${image.manifestDigest}`);
    });
}
