/**
 * The Chorus commands an LSP client can run through workspace/executeCommand: `chorus.status`,
 * `chorus.follow [peer]`, `chorus.undo [uri]`, `chorus.redo [uri]`, `chorus.reconnect` (starts a
 * daemon stopped with `chorus stop`, decision 174). Each answers a JSON value
 * and tells the person what happened with window/showMessage.
 */
import type * as Schemas from '@chorus/protocol';
// Handles, not schemas: the daemon validates what it is sent, and `chorus lsp` loads no zod (decision 203).
import * as P from '@chorus/protocol/handles';
import { ResponseError, type Connection } from 'vscode-languageserver/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { tell } from './messages.js';

export const COMMANDS = ['chorus.status', 'chorus.follow', 'chorus.undo', 'chorus.redo', 'chorus.reconnect'] as const;

/** What the commands need from the server. */
export interface CommandContext {
  lsp: Connection;
  daemon: MessageConnection;
  /** The daemon path of an open document by its URI, or of the one the person used last (once it is open). */
  pathOf(uri: string | undefined): Promise<string | undefined>;
  /** The peer being followed, if any (kept by the server, which sees follow/didStop). */
  following: Schemas.PeerInfo | undefined;
  /** Connect to the project's daemon now, starting it even if it was stopped with `chorus stop`; says what happened. */
  reconnect(): Promise<void>;
}

function describe(st: Schemas.ResultOf<typeof Schemas.SessionStatus>): string {
  const session = st.session ? P.sessionClauses(st.session).join('; ') : 'not shared (run `chorus share` to invite others)';
  const peers = st.peers.filter((p) => p.id !== st.peer.id).map((p) => p.name);
  return `Chorus: ${st.root}, ${session}; you are ${st.peer.name}; ${peers.length ? `with ${peers.join(', ')}` : 'nobody else here yet'}; ${st.buffers.length} open file${st.buffers.length === 1 ? '' : 's'}.`;
}

async function status(ctx: CommandContext): Promise<unknown> {
  const st = await ctx.daemon.sendRequest(P.SessionStatus.type, undefined);
  tell(ctx.lsp, 'info', describe(st));
  return st;
}

/**
 * Follow `peer` (id or name). Without one: stop if following, else follow the only other person
 * in the session; with several, say who is there.
 */
async function follow(ctx: CommandContext, peer: unknown): Promise<unknown> {
  if (peer !== undefined && typeof peer !== 'string') throw new ResponseError(P.ErrorCodes.InvalidParams, 'chorus.follow takes a peer name or id (a string), or nothing');
  if (peer === undefined && ctx.following) {
    await ctx.daemon.sendRequest(P.FollowStop.type, undefined);
    tell(ctx.lsp, 'info', `Chorus: stopped following ${ctx.following.name}`);
    ctx.following = undefined;
    return { following: null };
  }
  let who = peer;
  if (who === undefined) {
    const st = await ctx.daemon.sendRequest(P.SessionStatus.type, undefined);
    const others = st.peers.filter((p) => p.id !== st.peer.id);
    if (others.length !== 1) {
      throw new ResponseError(P.ErrorCodes.PeerNotFound, others.length ? `say whom to follow: ${others.map((p) => p.name).join(', ')}` : 'nobody else is in the session to follow');
    }
    who = others[0]!.id;
  }
  const r = await ctx.daemon.sendRequest(P.FollowStart.type, { peer: who as string });
  ctx.following = r.peer;
  tell(ctx.lsp, 'info', `Chorus: following ${r.peer.name}; type to stop`);
  return { following: r.peer };
}

async function undo(ctx: CommandContext, uri: unknown, redo: boolean): Promise<unknown> {
  if (uri !== undefined && typeof uri !== 'string') throw new ResponseError(P.ErrorCodes.InvalidParams, `chorus.${redo ? 'redo' : 'undo'} takes a document URI (a string), or nothing for the last one you edited`);
  const path = await ctx.pathOf(uri);
  if (!path) throw new ResponseError(P.ErrorCodes.BufferNotOpen, uri ? `${uri} is not open with Chorus` : 'open a file with Chorus first');
  const r = await ctx.daemon.sendRequest(redo ? P.BufferRedo.type : P.BufferUndo.type, { path });
  if (!r.applied) tell(ctx.lsp, 'info', `Chorus: nothing of yours to ${redo ? 'redo' : 'undo'} in ${path}`);
  return r;
}

/** Run one command; unknown ones are an InvalidParams error naming the known ones. */
export async function runCommand(ctx: CommandContext, command: string, args: unknown[]): Promise<unknown> {
  try {
    switch (command) {
      case 'chorus.status':
        return await status(ctx);
      case 'chorus.follow':
        return await follow(ctx, args[0]);
      case 'chorus.undo':
        return await undo(ctx, args[0], false);
      case 'chorus.redo':
        return await undo(ctx, args[0], true);
      case 'chorus.reconnect':
        await ctx.reconnect();
        return null;
      default:
        throw new ResponseError(P.ErrorCodes.InvalidParams, `unknown command ${command}; Chorus has ${COMMANDS.join(', ')}`);
    }
  } catch (e) {
    if (e instanceof ResponseError) throw e;
    throw new ResponseError(P.ErrorCodes.InternalError, `chorus: ${(e as Error).message}`);
  }
}
