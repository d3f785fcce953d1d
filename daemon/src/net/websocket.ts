/**
 * Direct WebSocket transport (`ws`): a listener that turns each accepted connection into a Link,
 * and a dialer. One binary WebSocket message is one Link message, so ws does the framing.
 */
import { createServer } from 'node:http';
import { networkInterfaces } from 'node:os';
import { tagAddr } from './host-addrs.js';
import { localHostId } from './host-id.js';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { BaseLink, WS_GOING_AWAY, type LinkKind } from './link.js';
import type { PageServer } from './page-server.js';
import type { RelayRooms } from './relay-server.js';

/** Largest single WebSocket message accepted: the 64 MiB frame limit plus header room. */
export const WS_MAX_PAYLOAD = 64 * 1024 * 1024 + 4096;
/** Largest message before the secure handshake finished (a hello or a proof is far smaller). */
export const WS_HANDSHAKE_MAX_PAYLOAD = 8 * 1024;

export class WebSocketLink extends BaseLink {
  readonly kind: LinkKind;
  readonly remote: string;
  readonly #ws: WebSocket;

  constructor(ws: WebSocket, remote: string, kind: LinkKind = 'websocket') {
    super();
    this.#ws = ws;
    this.remote = remote;
    this.kind = kind;
    let lastError: string | undefined;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        this.close('protocol error: text frame on a binary link');
        return;
      }
      this.deliver(asBytes(data));
    });
    ws.on('error', (err: Error & { code?: string }) => {
      lastError = err.code ?? err.message;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      const text = reason.toString('utf8');
      const away = code === WS_GOING_AWAY;
      if (text) this.closed(`closed by peer: ${text}`, away);
      else if (lastError) this.closed(`connection lost (${lastError})`);
      else if (away) this.closed('its page went away (WebSocket code 1001: closed, reloaded or navigated away)', true);
      else this.closed(`connection closed (code ${code})`);
    });
  }

  /** After authentication: accept frames up to WS_MAX_PAYLOAD (ws has no public setter for it). */
  raiseFrameLimit(): void {
    const receiver = (this.#ws as unknown as { _receiver?: { _maxPayload: number } })._receiver;
    if (receiver) receiver._maxPayload = WS_MAX_PAYLOAD;
  }

  /** Bytes queued in the socket and not sent yet (ws's `bufferedAmount`). */
  bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  protected transmit(data: Uint8Array): void {
    this.#ws.send(data, { binary: true }, (err) => {
      if (err) this.closed(`send failed (${err.message})`);
    });
  }

  protected shutdown(reason: string): void {
    // WebSocket close reasons are limited to 123 bytes.
    const short = Buffer.from(reason, 'utf8').subarray(0, 120).toString('utf8');
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else this.#ws.close(1000, short);
    // A peer that never answers the close handshake must not keep the socket alive.
    setTimeout(() => this.#ws.terminate(), 2000).unref();
  }

  /** Tear down the TCP connection without a close handshake, as a network failure would. */
  terminate(): void {
    this.#ws.terminate();
  }
}

/** Copy-free view of a Node Buffer / ArrayBuffer message as a Uint8Array. */
function asBytes(data: ArrayBuffer | Buffer | Buffer[] | Uint8Array): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof Uint8Array) return data;
  return new Uint8Array(data);
}

export interface WebSocketListener {
  /** The actual bound port (useful when asked for port 0). */
  readonly port: number;
  /** `ws://host:port` addresses peers can dial; every interface's address for a wildcard bind. */
  readonly addrs: string[];
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  onLink: (link: WebSocketLink) => void;
  /** Serve the browser page over HTTP on the same port (issue 17). */
  page?: PageServer;
  /** Relay for these rooms at RELAY_PATH, so pages this daemon served can reach each other. */
  relay?: RelayRooms;
}

/** Where a daemon's listener accepts relay connections (pages linking to each other through it). */
export const RELAY_PATH = '/relay';

/**
 * Listen for peers: WebSocket upgrades become Links (or, at RELAY_PATH, relay connections), and
 * plain HTTP requests get the browser page (or a 404 without one).
 */
export async function listenWebSocket(opts: ListenOptions): Promise<WebSocketListener> {
  const http = createServer((req, res) => {
    if (opts.page) {
      opts.page.handle(req, res);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('this is a Chorus peer; connect with chorus join\n');
  });
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: WS_HANDSHAKE_MAX_PAYLOAD, // raised per link once it is authenticated
    perMessageDeflate: false, // everything is encrypted: incompressible
  });
  const relayServer = opts.relay ? new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD + 512, perMessageDeflate: false }) : undefined;
  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {
      /* a connection reset during the upgrade concerns that connection only */
    });
    let pathname = '/';
    try {
      pathname = new URL(req.url ?? '/', 'http://peer').pathname;
    } catch {
      /* a malformed path is a peer link attempt like any other; the handshake decides */
    }
    if (pathname === RELAY_PATH && relayServer && opts.relay) {
      const relay = opts.relay;
      relayServer.handleUpgrade(req, socket, head, (ws) => relay.accept(ws, req.socket.remoteAddress));
      return;
    }
    server.handleUpgrade(req, socket, head, (ws) => {
      const remote = `ws-in:${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      opts.onLink(new WebSocketLink(ws, remote));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('listening', resolve);
    http.once('error', reject);
    http.listen(opts.port, opts.host);
  });
  http.on('error', () => {
    /* after listening, errors surface per connection */
  });
  const address = http.address();
  if (typeof address !== 'object' || address === null) throw new Error('websocket listener has no address');
  const port = address.port;
  return {
    port,
    addrs: advertisedAddrs(opts.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        for (const client of relayServer?.clients ?? []) client.terminate();
        opts.relay?.close();
        server.close();
        relayServer?.close();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

export function wsUrl(host: string, port: number): string {
  return host.includes(':') ? `ws://[${host}]:${port}` : `ws://${host}:${port}`;
}

function advertisedAddrs(host: string, port: number): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [wsUrl(host, port)];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      if (ni.family === 'IPv4' || host === '::') {
        if (ni.family === 'IPv6' && ni.scopeid) continue; // link-local needs a zone id
        out.push(wsUrl(ni.address, port));
      }
    }
  }
  // Loopback first: on one machine it always works. Tagged with this host, see host-addrs.ts.
  return out.map((a) => tagAddr(a, localHostId())).sort((a, b) => Number(b.includes('127.0.0.1')) - Number(a.includes('127.0.0.1')));
}

export interface DialOptions {
  timeoutMs?: number;
  kind?: LinkKind;
}

/** Dial a `ws://` address. Rejects with a readable Error if the peer cannot be reached. */
export function dialWebSocket(url: string, opts: DialOptions = {}): Promise<WebSocketLink> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { maxPayload: WS_HANDSHAKE_MAX_PAYLOAD, perMessageDeflate: false, handshakeTimeout: opts.timeoutMs ?? 5000 });
    } catch (err) {
      reject(new Error(`cannot dial ${url}: ${(err as Error).message}`));
      return;
    }
    const fail = (err: Error & { code?: string }): void => {
      ws.terminate();
      // The system error code travels with the message: a refused port is worth telling apart
      // from a silent one (see SessionManager's first sync).
      reject(Object.assign(new Error(`cannot reach ${url} (${err.code ?? err.message})`), { code: err.code }));
    };
    ws.once('error', fail);
    ws.once('open', () => {
      ws.off('error', fail);
      resolve(new WebSocketLink(ws, url, opts.kind ?? 'websocket'));
    });
  });
}
