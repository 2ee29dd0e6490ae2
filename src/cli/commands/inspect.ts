import type { Command } from 'commander';
import { clientFor, print, withMaster } from '../context.js';

export function registerInspect(program: Command): void {
  withMaster(program.command('inspect'))
    .description("print an image's manifest digest, manifest and config as JSON")
    .argument('<images...>', 'image NAME[:TAG] or NAME@DIGEST')
    .addHelpText('after', "\nExample:\n  berth inspect busybox | jq '.[0].config.config.Env'")
    .action(async (images: string[], opts: { master?: string }) => {
      const client = clientFor(opts);
      const out = [];
      for (const image of images)
        out.push(await client.get(`/api/v1/images/${encodeURIComponent(image)}/inspect`));
      print(JSON.stringify(out, null, 2));
    });
}
