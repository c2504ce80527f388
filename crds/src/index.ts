export * from './api-role.js';
export * from './authorization-server.js';
export * from './common.js';
export * from './duration.js';
export * from './resources.js';
export * from './validate.js';
export * from './schema-kit.js';
