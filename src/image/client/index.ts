/** The registry client: pull, push and login against an OCI Distribution registry. */
export { RegistryClient, type RegistryClientOptions } from './registry-client.js';
export {
  hasRegistryHost,
  parseRegistryHost,
  parseRegistryReference,
  registryHostOf,
  type RegistryReference,
} from './registry-reference.js';
export { CredentialStore, defaultCredentialsFile, type Credentials } from './credentials.js';
export { pullImage, type PullOptions, type PullResult } from './pull.js';
export { pushImage, type PushOptions, type PushResult } from './push.js';
export { DEFAULT_CHUNKS, type ChunkPolicy } from './blob-upload.js';
export {
  ImageTransferService,
  insecureRegistriesFromEnv,
  resolveOrPull,
  transferServiceFor,
  type TransferRequest,
  type TransferServiceOptions,
} from './transfer-service.js';
export {
  encodeRegistryAuth,
  registerTransferRoutes,
  REGISTRY_AUTH_HEADER,
  type TransferRecord,
} from './http-routes.js';
export type { TransferProgress } from './progress.js';
export {
  createProgressReporter,
  formatProgressLine,
  type ProgressReporter,
  type TransferVerb,
} from './progress-reporter.js';
export { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST } from './manifest.js';
export * from './errors.js';
