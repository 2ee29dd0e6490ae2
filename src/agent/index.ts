export * from './agent.js';
export * from './containerizer.js';
export * from './detect-resources.js';
export * from './master-link.js';
export * from './errors.js';
export type { AgentTask } from './types.js';
export * from './checks/index.js';
