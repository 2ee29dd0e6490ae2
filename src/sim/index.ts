export * from './duration.js';
export * from './hollow-containerizer.js';
export * from './hollow-cluster.js';
export * from './http-link.js';
export * from './load-framework.js';
export * from './http-sim.js';
