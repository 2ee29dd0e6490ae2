/** berth's OCI Distribution v1.1 registry: the server, its storage and garbage collection. */
export { startRegistry, type RunningRegistry, type StartRegistryOptions } from './server.js';
export { registerRegistryRoutes, type RegistryHttpOptions } from './http-routes.js';
export {
  Registry,
  DEFAULT_GC_GRACE_MS,
  DEFAULT_MAX_MANIFEST_BYTES,
  type RegistryOptions,
  type ReferrersIndex,
  type TagPage,
} from './registry.js';
export type { GcReport } from './gc.js';
export { BasicAuth, loadHtpasswd, parseHtpasswd } from './auth.js';
export * from './errors.js';
