/**
 * Pulls and pushes for one image store, as the master's HTTP API and the agent's provisioner use them.
 * It owns the in-flight map: callers that pull the same reference at the same time share one pull
 * (and each gets its progress). There is one service per ImageStore (`transferServiceFor`), so the
 * HTTP route and the containerizer share that map without being wired to each other.
 */
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { ImageNotFoundError } from '../errors.js';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import { BlobSources } from './blob-sources.js';
import type { ChunkPolicy } from './blob-upload.js';
import { CredentialStore, type Credentials } from './credentials.js';
import type { ProgressListener } from './progress.js';
import { pullImage, type PullResult } from './pull.js';
import { pushImage, type PushResult } from './push.js';
import { RegistryClient } from './registry-client.js';
import { hasRegistryHost, parseRegistryReference, type RegistryReference } from './registry-reference.js';

export interface TransferRequest {
  reference: string;
  /** Plain HTTP for this registry (besides those in BERTH_INSECURE_REGISTRIES). */
  insecure?: boolean;
  /** Credentials sent by the caller; otherwise the stored ones for the host are used. */
  credentials?: Credentials;
  onProgress?: ProgressListener;
}

export interface TransferServiceOptions {
  /** Default: the auth.json of $BERTH_HOME (or ~/.berth). */
  credentials?: CredentialStore;
  /** host:port of registries spoken to over plain HTTP. Default: $BERTH_INSECURE_REGISTRIES. */
  insecureRegistries?: readonly string[];
  concurrency?: number;
  chunks?: ChunkPolicy;
  dispatcher?: Dispatcher;
}

interface InflightPull {
  promise: Promise<PullResult>;
  listeners: Set<ProgressListener>;
}

/** BERTH_INSECURE_REGISTRIES: a comma-separated list of host:port. */
export function insecureRegistriesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.BERTH_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
}

export class ImageTransferService {
  private readonly pulls = new Map<string, InflightPull>();
  private readonly sources: BlobSources;
  private readonly credentialStore: CredentialStore;
  private readonly insecure: ReadonlySet<string>;

  constructor(
    readonly images: ImageStore,
    private readonly options: TransferServiceOptions = {},
  ) {
    this.sources = new BlobSources(join(images.root, 'registry-sources.json'));
    this.credentialStore = options.credentials ?? new CredentialStore();
    this.insecure = new Set(options.insecureRegistries ?? insecureRegistriesFromEnv());
  }

  /** Pulls the image into the store (sharing a pull of the same reference already running). */
  pull(request: TransferRequest): Promise<PullResult> {
    const ref = parseRegistryReference(request.reference, 'pull');
    const running = this.pulls.get(ref.local);
    if (running !== undefined) {
      if (request.onProgress) running.listeners.add(request.onProgress);
      return running.promise;
    }
    const listeners = new Set<ProgressListener>(request.onProgress ? [request.onProgress] : []);
    const promise = this.runPull(ref, request, listeners).finally(() => this.pulls.delete(ref.local));
    this.pulls.set(ref.local, { promise, listeners });
    return promise;
  }

  /** Pushes the local image named by the reference to its registry. */
  async push(request: TransferRequest): Promise<PushResult> {
    const ref = parseRegistryReference(request.reference, 'push');
    const credentials = await this.credentialsFor(ref, request);
    return pushImage(this.images, (scopes) => this.client(ref, request, credentials, scopes), ref, {
      sources: this.sources,
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(this.options.concurrency ? { concurrency: this.options.concurrency } : {}),
      ...(this.options.chunks ? { chunks: this.options.chunks } : {}),
    });
  }

  /** The image, pulled first when it is not in the store and its reference names a registry. */
  async resolveOrPull(reference: string): Promise<ResolvedImage> {
    try {
      return await this.images.resolve(reference);
    } catch (err) {
      if (!(err instanceof ImageNotFoundError) || !hasRegistryHost(reference)) throw err;
      return (await this.pull({ reference })).image;
    }
  }

  private async runPull(
    ref: RegistryReference,
    request: TransferRequest,
    listeners: ReadonlySet<ProgressListener>,
  ): Promise<PullResult> {
    const credentials = await this.credentialsFor(ref, request);
    const client = this.client(ref, request, credentials, [`repository:${ref.name}:pull`]);
    return pullImage(this.images, client, ref, {
      sources: this.sources,
      onProgress: (p) => listeners.forEach((listener) => listener(p)),
      ...(this.options.concurrency ? { concurrency: this.options.concurrency } : {}),
    });
  }

  private async credentialsFor(
    ref: RegistryReference,
    request: TransferRequest,
  ): Promise<Credentials | undefined> {
    return request.credentials ?? (await this.credentialStore.get(ref.host));
  }

  private client(
    ref: RegistryReference,
    request: TransferRequest,
    credentials: Credentials | undefined,
    scopes: string[],
  ): RegistryClient {
    return new RegistryClient({
      host: ref.host,
      insecure: request.insecure === true || this.insecure.has(ref.host),
      scopes,
      ...(credentials ? { credentials } : {}),
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
    });
  }
}

const services = new WeakMap<ImageStore, ImageTransferService>();

/** The one transfer service of an image store (made on first use, with the defaults). */
export function transferServiceFor(images: ImageStore): ImageTransferService {
  let service = services.get(images);
  if (service === undefined) {
    service = new ImageTransferService(images);
    services.set(images, service);
  }
  return service;
}

/** For the provisioner: resolve the image, pulling it on demand when it names a registry. */
export function resolveOrPull(images: ImageStore, reference: string): Promise<ResolvedImage> {
  return transferServiceFor(images).resolveOrPull(reference);
}
