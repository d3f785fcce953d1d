/** The Unix socket editors connect to (`.chorus/daemon.sock`, mode 0600). */
import fs from 'node:fs';
import net from 'node:net';
import { serveEditor, type EditorServices } from './connection.js';

export interface EditorServer {
  sockets: Set<net.Socket>;
  close(): void;
}

export async function listenForEditors(socketPath: string, services: EditorServices): Promise<EditorServer> {
  const sockets = new Set<net.Socket>();
  // The caller holds the project lock, so a socket file left here belongs to a dead daemon.
  fs.rmSync(socketPath, { force: true });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (e) => services.log(socketEnd(e)));
    serveEditor(socket, services);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o600);
  return { sockets, close: () => server.close() };
}

/**
 * The log line for an editor socket's error. An editor that exits or is killed (`:qa!` with
 * requests unanswered) resets its connection: that is how editors leave, not a fault of either
 * side, and a trial read "editor socket error" as one.
 */
function socketEnd(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return `an editor's connection ended without a goodbye (${e.code}): the editor exited or was stopped`;
  return `editor socket error: ${e.message}`;
}
