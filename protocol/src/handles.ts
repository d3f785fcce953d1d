/**
 * The protocol without its schemas (`@chorus/protocol/handles`): every method's handle (name,
 * kind, direction, typed vscode-jsonrpc handle), the error and exit codes, the protocol version
 * and the words that name a session. The full entry builds every zod schema when it loads, ~0.1 s
 * of CPU with zod's own loading; the `chorus` command's light paths (`status`, `stop`, `connect`)
 * only send and receive, and the daemon validates what it is sent (decision 203). Types of params
 * and results: `ParamsOf`/`ResultOf` from the full entry, imported as types only.
 */
export * from './method-handles.js';
export * from './errors.js';
export * from './session-words.js';
export * from './answer-watch.js';
export * from './shown.js';
export { PROTOCOL_VERSION } from './protocol-version.js';
export type { Handle } from './handle.js';
