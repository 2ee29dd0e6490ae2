export * from './types.js';
export * from './spec.js';
export * from './errors.js';
export * from './services-framework.js';
export { servicesFrameworkFactory, type ServicesFrameworkContext } from './factory.js';
export { registerServiceRoutes } from './http.js';
