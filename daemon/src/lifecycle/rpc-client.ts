/** A JSON-RPC client over a daemon socket, for the CLI's own requests (status, share, join). */
import type net from 'node:net';
import * as P from '@chorus/protocol';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { VERSION } from '../version.js';

export async function cliConnection(socket: net.Socket): Promise<MessageConnection> {
  const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  conn.listen();
  await conn.sendRequest(P.Initialize.type, { protocolVersion: P.PROTOCOL_VERSION, clientInfo: { name: 'chorus-cli', version: VERSION } });
  return conn;
}
