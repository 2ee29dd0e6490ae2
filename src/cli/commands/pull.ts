/**
 * `berth pull REF`: the master's node pulls the image from the registry into its image store
 * (`POST /api/v1/images/pull`), streaming progress back. The credentials stored for the registry host
 * (`berth login`) travel in the X-Registry-Auth header. `runTransfer` is shared with `berth push`.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { decodeRecords } from '../../api/recordio.js';
import { httpStatusFor, RemoteError } from '../../core/errors.js';
import type { TransferRecord } from '../../image/index.js';
import { MasterUnreachableError } from '../client.js';
import { apiToken } from '../config.js';
import { clientFor, print, withMaster } from '../context.js';

export interface TransferOptions {
  master?: string;
  insecure?: boolean;
}

export function registerPull(program: Command): void {
  withMaster(program.command('pull'))
    .description("pull an image from a registry into the node's image store")
    .argument('<reference>', 'HOST[:PORT]/REPO[:TAG][@DIGEST] (berth has no default registry)')
    .option('--insecure', 'speak plain HTTP to this registry (or list it in BERTH_INSECURE_REGISTRIES)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth pull 127.0.0.1:5000/app:1\n  berth pull --insecure 127.0.0.1:5000/team/app:latest',
    )
    .action((reference: string, opts: TransferOptions) => runTransfer('pull', reference, opts));
}

/** Sends a pull or push to the master, draws its progress, prints "REFERENCE DIGEST" at the end. */
export async function runTransfer(
  action: 'pull' | 'push',
  reference: string,
  opts: TransferOptions,
): Promise<void> {
  const image = await import('../../image/index.js');
  const ref = image.parseRegistryReference(reference, action);
  const credentials = await new image.CredentialStore().get(ref.host);
  const headers: Record<string, string> = credentials
    ? { [image.REGISTRY_AUTH_HEADER]: image.encodeRegistryAuth(credentials) }
    : {};
  const body = { reference: ref.local, insecure: opts.insecure === true };
  const reporter = image.createProgressReporter(action === 'pull' ? 'pulling' : 'pushing');
  let done: Extract<TransferRecord, { type: 'DONE' }> | undefined;
  try {
    const res = await postJson(clientFor(opts).master, `/api/v1/images/${action}`, body, headers);
    for await (const record of decodeRecords<TransferRecord>(res)) {
      if (record.type === 'PROGRESS') reporter.update(record.progress);
      else if (record.type === 'DONE') done = record;
      else throw new RemoteError(record.error.code, record.error.message, httpStatusFor(record.error.code));
    }
  } finally {
    reporter.stop();
  }
  if (done === undefined)
    throw new RemoteError(
      'ERR_UNAVAILABLE',
      `the ${action} of ${ref.local} ended without a result: try again`,
      503,
    );
  print(`${done.reference} ${done.digest}`);
}

/** POSTs JSON to the master and resolves with the (streaming) response; errors as RemoteError. */
function postJson(
  master: string,
  path: string,
  body: unknown,
  extraHeaders: Record<string, string>,
): Promise<IncomingMessage> {
  const url = new URL(path, master);
  const token = apiToken();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extraHeaders,
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers }, (res) => {
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      errorOf(res).then(reject, reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code ? new MasterUnreachableError(master, err) : err),
    );
    req.end(JSON.stringify(body));
  });
}

async function errorOf(res: IncomingMessage): Promise<RemoteError> {
  const status = res.statusCode ?? 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed = JSON.parse(text) as { code?: string; message?: string };
    return new RemoteError(parsed.code ?? `ERR_HTTP_${status}`, parsed.message ?? text, status);
  } catch {
    return new RemoteError(`ERR_HTTP_${status}`, text || `HTTP ${status}`, status);
  }
}
