/** `berth build`: the Dockerfile parser, the builder, context packing and the build route. */
export { buildImage, type BuildDeps, type BuildEvent, type BuildRequest } from './builder.js';
export { contextTar, packContext } from './context.js';
export { parseDockerignore, isIgnored, type IgnorePattern } from './dockerignore.js';
export { parseDockerfile, type Instruction } from './parse.js';
export { registerBuildRoutes, type BuildRouteOptions } from './http.js';
export * from './errors.js';
