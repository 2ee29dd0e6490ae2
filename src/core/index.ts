export * from './errors.js';
export * from './clock.js';
export * from './ids.js';
export * from './units.js';
export * from './resources.js';
export * from './logger.js';
