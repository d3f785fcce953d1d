/**
 * A "peer" that accepts connections and never answers, on loopback, for tests of what a join does
 * when nothing comes back. It runs in a worker thread of its own: the CLI tests run `chorus`
 * synchronously (spawnSync), which blocks the test process's event loop for seconds at a time,
 * and vitest does not yield to it between synchronous tests, so a server on the test's own thread
 * would leave a WebSocket upgrade unanswered until the next await (and a join with a shortened
 * timeout, CHORUS_TEST_JOIN_TIMEOUT_MS, would end before its handshake had even begun).
 */
import { Worker } from 'node:worker_threads';

/** What the silent peer does with a connection: `tcp` reads and drops what comes; `websocket` also completes the WebSocket upgrade, then says nothing (a daemon whose handshakes never complete, as under a flood: decision 165). */
export type SilentKind = 'tcp' | 'websocket';

/** A listening silent peer: its loopback port, and `close()`, which ends its connections and its thread. */
export interface SilentPeer {
  port: number;
  close(): Promise<void>;
}

// Plain JavaScript for the worker (CommonJS, no TypeScript): a bare `http` upgrade, so the worker
// needs no package. 101 with the accept key (RFC 6455 §4.2.2), then every frame read and dropped.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const http = require('node:http');
const crypto = require('node:crypto');
const sockets = new Set();
const keep = (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); s.resume(); };
let server;
if (workerData.kind === 'tcp') {
  server = net.createServer(keep);
} else {
  server = http.createServer((req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket) => {
    const accept = crypto.createHash('sha1').update(String(req.headers['sec-websocket-key']) + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
    keep(socket);
  });
}
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => {
  for (const s of sockets) s.destroy();
  server.close(() => parentPort.close());
});
`;

/** Start a silent peer of `kind` in its own thread; resolves once it listens. */
export async function startSilentPeer(kind: SilentKind): Promise<SilentPeer> {
  const worker = new Worker(WORKER, { eval: true, workerData: { kind } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the silent peer's thread exited (code ${code}) before it listened`)));
  });
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  return {
    port,
    close: async () => {
      worker.postMessage('close');
      // Its connections are ended and its server closed; a thread that does not end is ended.
      const late = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(late);
    },
  };
}

/**
 * A well-formed join code for a made-up session (its id and secret fixed, never any daemon's)
 * whose only address is the silent peer on `port`: a join with it dials that peer and nothing else.
 */
export function silentPeerCode(port: number): string {
  const body = { s: 'a'.repeat(32), k: Buffer.alloc(32, 1).toString('base64url'), a: [`ws://127.0.0.1:${port}`] };
  return 'chorus2.' + Buffer.from(JSON.stringify(body)).toString('base64url');
}
