/**
 * `berth save IMAGE… -o FILE.tar`: an OCI image layout archive of the images, streamed from the
 * master (`GET /api/v1/images/save`). Also home of `streamRequest`, the streaming HTTP call that
 * build, save and load share.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, RemoteError } from '../../core/errors.js';
import { MasterUnreachableError } from '../client.js';
import { apiToken, masterUrl } from '../config.js';
import { print, withMaster } from '../context.js';

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

/** An HTTP call to the master whose response is read as a stream; a status ≥ 300 is a RemoteError. */
export function streamRequest(
  master: string | undefined,
  method: 'GET' | 'POST',
  path: string,
  body?: { stream: Readable; type: string },
): Promise<IncomingMessage> {
  const base = masterUrl(master);
  const url = new URL(path, base);
  const token = apiToken();
  const headers: Record<string, string> = {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(body ? { 'content-type': body.type } : {}),
  };
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      void readError(res).then(reject, reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code && CONNECT_ERRORS.has(err.code) ? new MasterUnreachableError(base, err) : err),
    );
    if (!body) req.end();
    else {
      body.stream.on('error', (err) => req.destroy(err));
      body.stream.pipe(req);
    }
  });
}

async function readError(res: IncomingMessage): Promise<RemoteError> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const status = res.statusCode ?? 0;
  try {
    const parsed = JSON.parse(text) as { code?: string; message?: string };
    return new RemoteError(parsed.code ?? `ERR_HTTP_${status}`, parsed.message ?? text, status);
  } catch {
    return new RemoteError(`ERR_HTTP_${status}`, text || `HTTP ${status}`, status);
  }
}

export function registerSave(program: Command): void {
  withMaster(program.command('save'))
    .description('write images to an OCI image layout archive (a tar that skopeo, podman and docker read)')
    .argument('<images...>', 'images NAME[:TAG]')
    .requiredOption('-o, --output <file>', 'the archive to write')
    .addHelpText(
      'after',
      '\nExamples:\n  berth save busybox -o busybox.tar\n  berth save app:1 app:2 -o app.tar',
    )
    .action(async (images: string[], opts: { master?: string; output: string }) => {
      if (opts.output === '-') throw new InvalidArgumentError('write the archive to a file: -o FILE.tar');
      const query = images.map((i) => `ref=${encodeURIComponent(i)}`).join('&');
      const res = await streamRequest(opts.master, 'GET', `/api/v1/images/save?${query}`);
      const tmp = `${opts.output}.partial`;
      try {
        await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
        await rename(tmp, opts.output);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      print(opts.output);
    });
}
