/**
 * The relay (`chorus relay`): introduces the peers of a room to each other and forwards opaque
 * frames between them. It holds nothing but live connections (so several can run behind a load
 * balancer that keeps a room on one instance), never learns the session secret (rooms are a hash
 * of it), and cannot read what it forwards (peers run the secure handshake end to end through it).
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { QuietLog } from '../quiet-log.js';
import { PageServer } from './page-server.js';
import {
  decodeRouted,
  encodeRouted,
  isRouted,
  MAX_PEER_ID_BYTES,
  RelayFrame,
  ROOM_ID_PATTERN,
  tagged,
} from './relay-protocol.js';
import { WS_MAX_PAYLOAD, wsUrl } from './websocket.js';

export interface RelayOptions {
  host: string;
  port: number;
  log?: (msg: string) => void;
  /** Observes every routed frame exactly as forwarded (tests use it to prove no plaintext passes). */
  onForward?: (frame: Uint8Array) => void;
}

export interface RelayHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

const JOIN_TIMEOUT_MS = 10_000;
/**
 * A member whose connection holds this much unsent data is not reading: it is dropped (it
 * reconnects and resyncs) rather than the relay holding ever more for it (issue 10, item 10).
 */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Connections are pinged this often; one that missed a pong is gone and frees its slot. */
const PING_MS = 10_000;
/**
 * Most connections that have not joined a room yet (they have JOIN_TIMEOUT_MS to): beyond, a new
 * one is closed at once. A stranger opening bare connections by the thousand must not hold
 * sockets and timers without bound; members join within a round trip (decision 149).
 */
export const MAX_UNJOINED = 64;
/** Lines of one kind about closed connections logged per minute; the rest are counted. */
const DROP_LINES_PER_MINUTE = 3;

interface Slot {
  ws: WebSocket;
  /** sha256 of the joiner's slot key: only the same key may take the slot over. */
  keyHash: string | undefined;
}

export interface RelayRoomsOptions {
  log?: (msg: string) => void;
  /** Observes every routed frame exactly as forwarded (tests use it to prove no plaintext passes). */
  onForward?: (frame: Uint8Array) => void;
  /** Serve only these rooms (a daemon relays for its own session's pages only); all when absent. */
  rooms?: ReadonlySet<string>;
}

/** The relay's rooms, fed WebSocket connections by whoever accepts them (the relay, or a daemon). */
export interface RelayRooms {
  accept(ws: WebSocket): void;
  close(): void;
}

/**
 * The relay protocol over connections accepted elsewhere: `chorus relay` feeds it every
 * connection; a daemon feeds it connections to /relay, so that the browser pages it served can
 * reach each other (and then upgrade to WebRTC, signalled over that link).
 */
export function relayRooms(opts: RelayRoomsOptions): RelayRooms {
  const log = opts.log ?? (() => {});
  const rooms = new Map<string, Map<string, Slot>>();
  const alive = new WeakSet<WebSocket>();
  const clients = new Set<WebSocket>();
  const unjoined = new Set<WebSocket>();
  // Anyone who can reach the port can cause these lines: a few a minute per reason, then a count.
  const quiet = new QuietLog(log, 60_000, DROP_LINES_PER_MINUTE);
  const pinger = setInterval(() => {
    for (const ws of clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, PING_MS);
  pinger.unref();

  const drop = (ws: WebSocket, reason: string): void => {
    quiet.log(`relay: ${reason.replace(/:.*$/, '')}`, `relay: closing a connection: ${reason}`);
    ws.close(1008, reason.slice(0, 120));
    setTimeout(() => ws.terminate(), 1000).unref();
  };

  const accept = (ws: WebSocket): void => {
    if (unjoined.size >= MAX_UNJOINED) {
      ws.on('error', () => undefined);
      return drop(ws, `too many connections waiting to join: over ${MAX_UNJOINED}`);
    }
    unjoined.add(ws);
    clients.add(ws);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    let room: Map<string, Slot> | undefined;
    let roomId = '';
    let self = '';
    const joinTimer = setTimeout(() => drop(ws, 'no join within 10 s'), JOIN_TIMEOUT_MS);
    joinTimer.unref();

    ws.on('error', () => {
      /* reported through 'close' */
    });
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
      if (!isBinary || data.length === 0) return drop(ws, 'protocol error: expected binary frames');
      const type = data[0];
      if (room === undefined) {
        if (type !== RelayFrame.Join) return drop(ws, 'protocol error: first frame must be a join');
        let join: { room?: unknown; peer?: unknown; key?: unknown };
        try {
          join = JSON.parse(data.subarray(1).toString('utf8')) as typeof join;
        } catch {
          return drop(ws, 'protocol error: join is not JSON');
        }
        if (typeof join.room !== 'string' || !ROOM_ID_PATTERN.test(join.room)) return drop(ws, 'protocol error: bad room id');
        if (opts.rooms && !opts.rooms.has(join.room)) return drop(ws, 'this relay serves only its own session');
        if (typeof join.peer !== 'string' || join.peer.length === 0 || Buffer.byteLength(join.peer) > MAX_PEER_ID_BYTES) {
          return drop(ws, 'protocol error: bad peer id');
        }
        if (join.key !== undefined && (typeof join.key !== 'string' || join.key.length > 128)) return drop(ws, 'protocol error: bad slot key');
        const keyHash = typeof join.key === 'string' ? createHash('sha256').update(join.key).digest('hex') : undefined;
        const previous = rooms.get(join.room)?.get(join.peer);
        // A slot belongs to the connection that took it: only the same daemon (same key) may
        // take it over, e.g. after its old connection half-died; anyone else is turned away.
        if (previous && previous.ws.readyState === previous.ws.OPEN && (keyHash === undefined || previous.keyHash !== keyHash)) {
          return drop(ws, 'this peer id is in use in the room by another connection');
        }
        clearTimeout(joinTimer);
        unjoined.delete(ws);
        roomId = join.room;
        self = join.peer;
        room = rooms.get(roomId) ?? new Map();
        rooms.set(roomId, room);
        room.set(self, { ws, keyHash });
        if (previous) drop(previous.ws, 'replaced by a newer connection of the same daemon');
        ws.send(tagged(RelayFrame.Peers, JSON.stringify({ peers: [...room.keys()].filter((p) => p !== self) })));
        for (const [peer, other] of room) if (peer !== self) other.ws.send(tagged(RelayFrame.Joined, self));
        return;
      }
      if (!isRouted(type)) return drop(ws, `protocol error: unexpected frame type ${type}`);
      const routed = decodeRouted(data);
      if (!routed) return drop(ws, 'protocol error: truncated routed frame');
      const target = room.get(routed.peer)?.ws;
      if (!target || routed.peer === self) {
        const id = Buffer.from(routed.peer, 'utf8');
        ws.send(new Uint8Array([RelayFrame.NoRoute, id.length, ...id, ...routed.linkId]));
        return;
      }
      const forwarded = encodeRouted(routed.type, self, routed.linkId, routed.payload);
      if (target.bufferedAmount + forwarded.length > MAX_BUFFERED_BYTES) {
        drop(target, `not reading: over ${MAX_BUFFERED_BYTES} bytes waiting for it`);
        return;
      }
      opts.onForward?.(forwarded);
      target.send(forwarded);
    });
    ws.on('close', () => {
      clients.delete(ws);
      unjoined.delete(ws);
      clearTimeout(joinTimer);
      if (room === undefined || room.get(self)?.ws !== ws) return;
      room.delete(self);
      if (room.size === 0) rooms.delete(roomId);
      for (const other of room.values()) other.ws.send(tagged(RelayFrame.Left, self));
    });
  };
  return {
    accept,
    close: () => {
      clearInterval(pinger);
      quiet.clear();
      for (const ws of clients) ws.terminate();
    },
  };
}

export async function startRelay(opts: RelayOptions): Promise<RelayHandle> {
  const log = opts.log ?? (() => {});
  const rooms = relayRooms({ log, ...(opts.onForward ? { onForward: opts.onForward } : {}) });
  // The relay serves the browser page too (issue 17): a link through it opens the same page.
  const page = new PageServer({ host: 'relay' });
  const http = createServer((req, res) => page.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    http.once('listening', resolve);
    http.once('error', (err) => {
      rooms.close();
      reject(err);
    });
    http.listen(opts.port, opts.host);
  });
  // Attached once listening: a port in use is the caller's error to word, not a log line.
  const server = new WebSocketServer({ server: http, maxPayload: WS_MAX_PAYLOAD + 512, perMessageDeflate: false });
  server.on('error', (err) => log(`relay: server error ${err.message}`));
  server.on('connection', (ws) => rooms.accept(ws));

  const address = http.address();
  if (typeof address !== 'object' || address === null) throw new Error('relay has no address');
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: wsUrl(host, address.port),
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        rooms.close();
        for (const client of server.clients) client.terminate();
        server.close(() => http.close(() => resolve()));
        http.closeAllConnections();
      }),
  };
}
