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
    socket.on('error', (e) => services.log(`editor socket error: ${e.message}`));
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
