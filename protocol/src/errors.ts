/**
 * Error codes the daemon answers with, beyond JSON-RPC's own (-32700 parse error, -32600 invalid
 * request, -32601 method not found, -32602 invalid params, -32603 internal error). Chosen outside
 * JSON-RPC's reserved range (-32768..-32000) and LSP's (-32899..-32800) so they never collide.
 * Every error also carries a message written for a person: what happened and what to do.
 */
export const ErrorCodes = {
  /** JSON-RPC: the frame's body was not valid JSON. */
  ParseError: -32700,
  /** JSON-RPC: the message is not a valid request object. */
  InvalidRequest: -32600,
  /** JSON-RPC: no such method. */
  MethodNotFound: -32601,
  /** JSON-RPC: params failed validation; the message names the field and the problem. */
  InvalidParams: -32602,
  /** JSON-RPC: a bug in the daemon; the daemon keeps serving. */
  InternalError: -32603,
  /** A request other than `initialize` arrived before `initialize`. */
  NotInitialized: -31999,
  /** The client's `protocolVersion` is not one this daemon speaks; upgrade the plugin or the daemon. */
  UnsupportedProtocolVersion: -31998,
  /** The path is outside the project folder, or names a reserved file (`.chorus/`, `.git/`). */
  PathOutsideProject: -31997,
  /**
   * The path does not exist in the project and no content was given to create it; or (with
   * `data: { reason: 'notArrived' }`) the file exists in the session but its content has not
   * arrived from the peers yet: the same request succeeds later.
   */
  FileNotFound: -31996,
  /** The buffer was not opened with `buffer/open` by this editor. */
  BufferNotOpen: -31995,
  /** A position is past the end of its line or of the document, or splits a character. */
  PositionOutOfRange: -31994,
  /** The file cannot be edited live (binary, or larger than the live-editing limit). */
  FileNotEditable: -31993,
  /** This peer joined read-only; edits are refused. */
  ReadOnly: -31992,
  /** A value or message is larger than the daemon accepts. */
  TooLarge: -31991,
  /** Joining or sharing failed: bad join code, wrong secret, or no peer reachable. */
  SessionError: -31990,
  /** The named peer is not in the session. */
  PeerNotFound: -31989,
  /** The daemon is shutting down. */
  ShuttingDown: -31988,
  /** The disk refused to save (full, over quota): the change was not made; free space and retry. */
  StorageFailed: -31987,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Exit codes of the `chorus` command, for the editors that spawn `chorus connect` (the editor
 * protocol's stdio transport) and for scripts. 2 is not used (commander's usage errors exit 1).
 */
export const ExitCodes = {
  /** Done. */
  Ok: 0,
  /** Failed; stderr says why and what to do. */
  Failed: 1,
  /** A daemon already runs for that folder (`chorus daemon`). */
  AlreadyRunning: 3,
  /** No daemon runs for that folder (`chorus status`, `chorus stop`). */
  NotRunning: 4,
  /**
   * The project's daemon was stopped with `chorus stop` and none has started since (decision 174):
   * `chorus connect` exits so when the daemon it bridged to is stopped that way, and
   * `chorus connect --reconnect` (an editor's automatic retry) instead of starting it again. An
   * editor stops retrying on it and tells the person how to start the daemon again.
   */
  StoppedByCommand: 5,
} as const;
