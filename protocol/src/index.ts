export * from './types.js';
export * from './errors.js';
export * from './define.js';
export * from './methods.js';
export * from './describe.js';
export * from './session-words.js';
export * from './shown.js';
export * from './limits.js';
