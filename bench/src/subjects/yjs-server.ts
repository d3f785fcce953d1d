// A y-websocket server as its own process, as it would be deployed: the `ws` server from
// @y/websocket-server's own server.js, on loopback, on a free port it prints as `{"port":N}`.

import http from 'node:http';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';

const wss = new WebSocketServer({ noServer: true });
wss.on('connection', setupWSConnection);
const server = http.createServer((_req, res) => { res.writeHead(200); res.end('okay'); });
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr && typeof addr === 'object') process.stdout.write(JSON.stringify({ port: addr.port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
