export * from './names.js';
export * from './connection.js';
export * from './options.js';
export * from './job-ids.js';
export * from './keyspace.js';
