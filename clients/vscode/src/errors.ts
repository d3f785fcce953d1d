/**
 * What the person reads when something fails, and what only the log gets. Three kinds of error
 * reach the extension: the daemon's answer to a request (its message is written for the person,
 * protocol/README.md), the extension's own (`Told`: written here for the person), and everything
 * else: vscode-jsonrpc saying the connection went ("Pending response rejected since connection
 * got disposed"), Node, VS Code's API. That last kind is never shown as it is: its text speaks of
 * the library, not of what happened to the person's work (decision 189).
 */
import * as M from '@chorus/protocol';
import { ConnectionError, ErrorCodes, ResponseError } from 'vscode-jsonrpc/node';

/** An error whose message the extension wrote for the person: shown as it is. */
export class Told extends Error {}

/**
 * Codes vscode-jsonrpc answers a request with itself when the connection failed under it (its
 * writer or reader failed, or the connection closed or was disposed): not the daemon's answer.
 */
const TRANSPORT_CODES: ReadonlySet<number> = new Set([ErrorCodes.MessageWriteError, ErrorCodes.MessageReadError, ErrorCodes.PendingResponseRejected, ErrorCodes.ConnectionInactive]);

/** Did the daemon answer (refuse) the request, rather than the connection fail under it? */
export function isDaemonAnswer(e: unknown): e is ResponseError<unknown> {
  return e instanceof ResponseError && !TRANSPORT_CODES.has(e.code);
}

/**
 * Did the request fail because the connection to the daemon went (closed, disposed, a pipe
 * broke), with no answer from the daemon? Such a request is not a refusal: what it asked for is
 * done again on the next connection, or the person is told once that the daemon went.
 */
export function isConnectionGone(e: unknown): boolean {
  if (e instanceof ResponseError) return TRANSPORT_CODES.has(e.code);
  if (e instanceof ConnectionError) return true;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(EPIPE|ECONNRESET|ERR_STREAM_(DESTROYED|WRITE_AFTER_END))$/.test(code);
}

/**
 * Send a request, turning vscode-jsonrpc's synchronous throw on a closed or disposed connection
 * into a rejection, so every failure of the request reaches its one rejection handler.
 */
export function request<R>(rpc: { sendRequest<T>(type: { method: string }, params: unknown): Promise<T> }, type: { method: string }, params: unknown): Promise<R> {
  try {
    return rpc.sendRequest<R>(type, params);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/**
 * The words for a failure of `doing` (what the person asked for, as "sharing this folder"), for
 * the project named `project`: the daemon's own message (bidi controls made visible), the
 * extension's, or, for anything else, what happened and what to do, with the library's text
 * left to the log (`log` gets it).
 */
export function wordsFor(e: unknown, doing: string, project: string, log: (m: string) => void): string {
  if (e instanceof Told) return e.message;
  if (isDaemonAnswer(e)) return M.visibleBidi(e.message);
  log(`${doing}: ${messageOf(e)}`);
  if (isConnectionGone(e)) return `the daemon for ${project} went away while ${doing}. Nothing you typed is lost; once the status bar shows Chorus connected again (it reconnects on its own, or run Chorus: Reconnect), try again.`;
  return `${doing} failed unexpectedly. Try again; if it keeps failing, run Chorus: Reconnect, and turn on the chorus.debug setting to see the details in the Chorus output.`;
}

/** The raw message of an error, for the log only (never shown to the person as it is). */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
