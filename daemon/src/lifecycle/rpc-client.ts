/** A JSON-RPC client over a daemon socket: the CLI's own requests, and `chorus lsp`'s editor link. */
import type net from 'node:net';
import type * as Schemas from '@chorus/protocol';
// The handles, not the schemas: `chorus status`, `stop` and `connect` never load zod (decision 203).
import * as P from '@chorus/protocol/handles';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { VERSION } from '../version.js';

/** Connect and `initialize` as the named client; answers the connection and the daemon's reply. */
export async function editorConnection(
  socket: net.Socket,
  init: Omit<Schemas.ParamsOf<typeof Schemas.Initialize>, 'protocolVersion'>,
): Promise<{ conn: MessageConnection; init: Schemas.ResultOf<typeof Schemas.Initialize> }> {
  const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  conn.listen();
  const result = await conn.sendRequest(P.Initialize.type, { protocolVersion: P.PROTOCOL_VERSION, ...init });
  return { conn, init: result };
}

/** How the CLI's own commands introduce themselves to the daemon. */
export const CLI_CLIENT = { clientInfo: { name: 'chorus-cli', version: VERSION } };

export async function cliConnection(socket: net.Socket): Promise<MessageConnection> {
  return (await editorConnection(socket, CLI_CLIENT)).conn;
}
