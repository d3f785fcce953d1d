/**
 * The relay (`chorus relay`): introduces the peers of a room to each other and forwards opaque
 * frames between them. It holds nothing but live connections (so several can run behind a load
 * balancer that keeps a room on one instance), never learns the session secret (rooms are a hash
 * of it), and cannot read what it forwards (peers run the secure handshake end to end through it).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { QuietLog } from '../quiet-log.js';
import { HandshakeSlots } from './handshake-slots.js';
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
  /** Bounds other than RELAY_LIMITS (tests use small ones). */
  limits?: Partial<RelayLimits>;
  /** Observes every routed frame exactly as forwarded (tests use it to prove no plaintext passes). */
  onForward?: (frame: Uint8Array) => void;
}

export interface RelayHandle {
  url: string;
  port: number;
  /** What it holds now (connections waiting, in rooms; rooms). */
  load(): RelayLoad;
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
 * What the relay holds at most for anyone who can reach its port: no join code is needed to open
 * a connection or to join a room (a room id is any hex string), so every count a stranger can
 * raise is bounded (decisions 149, 194). An address is an IPv4 address or an IPv6 /64 (addressOf).
 */
export interface RelayLimits {
  /**
   * Connections that have not joined a room yet (they have 10 s to). When all are taken, the
   * oldest of the address holding the most is closed to make room: a newcomer is never refused
   * (as decision 165's handshake slots). Members join within a round trip of connecting.
   */
  waiting: number;
  /** Waiting connections one address may hold; beyond, its own oldest is closed. */
  waitingPerAddress: number;
  /**
   * Connections in rooms, from all addresses; beyond, a join is refused. Lowered to what the
   * process may open (`ulimit -n`) less a reserve, so a flood meets this bound, not EMFILE.
   */
  joined: number;
  /** Connections in rooms from one address (a NAT, an office, loopback); beyond, a join is refused. */
  joinedPerAddress: number;
  /** Rooms (sessions) at once; beyond, a join that would open a new room is refused. */
  rooms: number;
  /** Peers (daemons and browser pages) in one room; beyond, a join is refused. */
  peersPerRoom: number;
}

/**
 * The bounds `chorus relay` serves with (decision 194). A session has tens of peers (each a
 * daemon, plus a browser page per person who opened the link); a relay may serve many sessions.
 * - peersPerRoom 256: several times the largest session seen, pages included.
 * - joinedPerAddress 256: a whole session behind one NAT (or on one machine) fits; one address
 *   alone can hold no more than that many descriptors (a trial's script held 4,637).
 * - rooms 4,096 and joined 8,192: many sessions; rooms fewer than connections so that a flood
 *   joining made-up rooms from many addresses leaves at least half the connections to the rooms
 *   that exist (sessions already running keep admitting their peers).
 * - waiting 64 (decision 149) and waitingPerAddress 8: one address can take an eighth of the
 *   waiting slots; an honest client waits one round trip.
 */
export const RELAY_LIMITS: Readonly<RelayLimits> = { waiting: 64, waitingPerAddress: 8, joined: 8192, joinedPerAddress: 256, rooms: 4096, peersPerRoom: 256 };
/** Kept as its own name: the waiting bound decision 149 introduced, which tests refer to. */
export const MAX_UNJOINED = RELAY_LIMITS.waiting;
/**
 * Descriptors kept aside from `joined` for everything else the process opens: the waiting
 * connections, HTTP requests for the page, the listening socket, its own files.
 */
const DESCRIPTOR_RESERVE = 256;
/** Lines of one kind about closed connections logged per minute; the rest are counted. */
const DROP_LINES_PER_MINUTE = 3;

/**
 * The address a connection's counts are kept under: an IPv4 address as it is (an IPv4-mapped
 * IPv6 address as its IPv4 one), an IPv6 address by its /64 (one site's prefix: a host there
 * may take any address in it), "unknown" when the socket has none (closed already).
 */
export function addressOf(remote: string | undefined): string {
  if (!remote) return 'unknown';
  const bare = remote.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names the interface, not the host
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (!bare.includes(':')) return bare;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * The most files this process may open (the soft `ulimit -n`), from /proc/self/limits on Linux;
 * undefined elsewhere, or when unlimited.
 */
function descriptorLimit(): number | undefined {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isInteger(soft) && soft > 0 ? soft : undefined;
  } catch {
    return undefined;
  }
}

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
  /** Bounds other than RELAY_LIMITS (tests use small ones); `joined` is still lowered to the descriptors the process may open. */
  limits?: Partial<RelayLimits>;
}

/** What a relay holds at a moment: connections waiting to join, connections in rooms, rooms. */
export interface RelayLoad {
  waiting: number;
  joined: number;
  rooms: number;
}

/** The relay's rooms, fed WebSocket connections by whoever accepts them (the relay, or a daemon). */
export interface RelayRooms {
  /** Take a connection in; `remoteAddress` is its socket's (its counts are kept by addressOf). */
  accept(ws: WebSocket, remoteAddress: string | undefined): void;
  /** What it holds now. */
  load(): RelayLoad;
  /** The bounds it serves with (RELAY_LIMITS, as lowered to the descriptors it may open). */
  readonly limits: Readonly<RelayLimits>;
  close(): void;
}

/** The bounds to serve with: `asked` over RELAY_LIMITS, `joined` lowered to what the process may open. */
function relayLimits(asked: Partial<RelayLimits> = {}): RelayLimits {
  const limits = { ...RELAY_LIMITS, ...asked };
  const files = descriptorLimit();
  if (files !== undefined) limits.joined = Math.max(1, Math.min(limits.joined, files - DESCRIPTOR_RESERVE));
  return limits;
}

/**
 * The relay protocol over connections accepted elsewhere: `chorus relay` feeds it every
 * connection; a daemon feeds it connections to /relay, so that the browser pages it served can
 * reach each other (and then upgrade to WebRTC, signalled over that link).
 */
export function relayRooms(opts: RelayRoomsOptions): RelayRooms {
  const log = opts.log ?? (() => {});
  const limits = relayLimits(opts.limits);
  const rooms = new Map<string, Map<string, Slot>>();
  const alive = new WeakSet<WebSocket>();
  const clients = new Set<WebSocket>();
  // Waiting to join: a newcomer always gets a slot; the address holding too many gives way.
  const waiting = new HandshakeSlots<WebSocket>(limits.waiting, 0, limits.waitingPerAddress);
  const addressOfWs = new WeakMap<WebSocket, string>();
  /** Connections in rooms, by address. */
  const joinedFrom = new Map<string, number>();
  let joined = 0;
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

  /**
   * Close `ws` saying `reason` (the part before a colon is the log line's kind). Code 1013 ("try
   * again later") when the relay is at a bound, 1008 (policy) for a protocol error.
   */
  const drop = (ws: WebSocket, reason: string, code = 1008): void => {
    const address = addressOfWs.get(ws);
    quiet.log(`relay: ${reason.replace(/:.*$/, '')}`, `relay: closing a connection${address ? ` from ${address}` : ''}: ${reason}`);
    ws.close(code, Buffer.from(reason, 'utf8').subarray(0, 120).toString('utf8'));
    setTimeout(() => ws.terminate(), 1000).unref();
  };
  const busy = (ws: WebSocket, reason: string): void => drop(ws, reason, 1013);

  /** Why a join from `address` into `roomId` is refused at a bound; undefined when it is within them. */
  const overBound = (address: string, roomId: string): string | undefined => {
    if ((joinedFrom.get(address) ?? 0) >= limits.joinedPerAddress) {
      return `too many connections in rooms from one address: over ${limits.joinedPerAddress}; close some, or try again later`;
    }
    if (joined >= limits.joined) return `the relay is full: over ${limits.joined} connections in rooms; try again later or use another relay`;
    const room = rooms.get(roomId);
    if (!room && rooms.size >= limits.rooms) return `the relay is full: over ${limits.rooms} rooms; try again later or use another relay`;
    if (room && room.size >= limits.peersPerRoom) return `the room is full: over ${limits.peersPerRoom} peers in this session on this relay; try again later`;
    return undefined;
  };

  const accept = (ws: WebSocket, remoteAddress: string | undefined): void => {
    const address = addressOf(remoteAddress);
    addressOfWs.set(ws, address);
    ws.on('error', () => {
      /* reported through 'close' */
    });
    const evicted = waiting.admit(ws, address);
    if (evicted) {
      // The newcomer stays: members join within a round trip, so the one to go is a connection
      // that has waited longest, of the address holding too many (this one's own, or the busiest).
      const perAddress = addressOfWs.get(evicted) === address && waiting.heldBy(address) >= limits.waitingPerAddress;
      busy(
        evicted,
        perAddress
          ? `too many connections waiting to join from one address: over ${limits.waitingPerAddress}; this one waited longest`
          : `too many connections waiting to join: over ${limits.waiting}; this one waited longest, from the address with the most`,
      );
    }
    clients.add(ws);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    let room: Map<string, Slot> | undefined;
    let roomId = '';
    let self = '';
    let counted = false;
    const joinTimer = setTimeout(() => drop(ws, 'no join within 10 s'), JOIN_TIMEOUT_MS);
    joinTimer.unref();

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
        const open = previous !== undefined && previous.ws.readyState === previous.ws.OPEN;
        if (open && (keyHash === undefined || previous.keyHash !== keyHash)) {
          return drop(ws, 'this peer id is in use in the room by another connection');
        }
        // A daemon taking its own slot back replaces one connection by one: within every bound.
        const over = open ? undefined : overBound(address, join.room);
        if (over !== undefined) return busy(ws, over);
        clearTimeout(joinTimer);
        waiting.release(ws);
        counted = true;
        joined++;
        joinedFrom.set(address, (joinedFrom.get(address) ?? 0) + 1);
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
      waiting.release(ws);
      clearTimeout(joinTimer);
      if (counted) {
        counted = false;
        joined--;
        const n = (joinedFrom.get(address) ?? 1) - 1;
        if (n > 0) joinedFrom.set(address, n);
        else joinedFrom.delete(address);
      }
      if (room === undefined || room.get(self)?.ws !== ws) return;
      room.delete(self);
      if (room.size === 0) rooms.delete(roomId);
      for (const other of room.values()) other.ws.send(tagged(RelayFrame.Left, self));
    });
  };
  return {
    accept,
    limits,
    load: () => ({ waiting: waiting.size, joined, rooms: rooms.size }),
    close: () => {
      clearInterval(pinger);
      quiet.clear();
      waiting.clear();
      for (const ws of clients) ws.terminate();
    },
  };
}

/** Sockets one address may hold beyond its connections in rooms and waiting: requests for the page. */
const SOCKETS_SPARE = 16;

/**
 * Bound the sockets of `chorus relay`'s port before any request is read, so that connections
 * that never upgrade cannot exhaust descriptors either (decision 194): per address, its
 * connections in rooms and waiting and SOCKETS_SPARE; in all, `joined` + `waiting` + the spare
 * (below the descriptors the process may open: see relayLimits). One over its address's share is
 * answered 503 with the reason and closed; over the total, Node drops it. Both logged, rate-limited.
 */
function holdSockets(http: Server, limits: Readonly<RelayLimits>, log: (msg: string) => void): void {
  const quiet = new QuietLog(log, 60_000, DROP_LINES_PER_MINUTE);
  const perAddress = limits.joinedPerAddress + limits.waitingPerAddress + SOCKETS_SPARE;
  http.maxConnections = limits.joined + limits.waiting + SOCKETS_SPARE;
  http.on('drop', (d?: { remoteAddress?: string }) => {
    quiet.log('relay: the relay is full', `relay: closing a connection from ${addressOf(d?.remoteAddress)}: the relay is full: over ${http.maxConnections} open connections`);
  });
  const from = new Map<string, number>();
  http.on('connection', (socket: Socket) => {
    const address = addressOf(socket.remoteAddress);
    const n = (from.get(address) ?? 0) + 1;
    if (n > perAddress) {
      const reason = `too many open connections from one address: over ${perAddress}; close some, or try again later`;
      quiet.log('relay: too many open connections from one address', `relay: closing a connection from ${address}: ${reason}`);
      socket.on('error', () => undefined);
      // Closed as soon as the answer is written: the request it may send meanwhile is not served.
      socket.write(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\n\r\n${reason}\n`, () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    from.set(address, n);
    socket.once('close', () => {
      const left = (from.get(address) ?? 1) - 1;
      if (left > 0) from.set(address, left);
      else from.delete(address);
    });
  });
  http.once('close', () => quiet.clear());
}

export async function startRelay(opts: RelayOptions): Promise<RelayHandle> {
  const log = opts.log ?? (() => {});
  const rooms = relayRooms({ log, ...(opts.onForward ? { onForward: opts.onForward } : {}), ...(opts.limits ? { limits: opts.limits } : {}) });
  // The relay serves the browser page too (issue 17): a link through it opens the same page.
  const page = new PageServer({ host: 'relay' });
  // A connection that sends nothing for JOIN_TIMEOUT_MS before it upgrades (ws turns the timer
  // off when it does) is closed, as one that never joins is; one that sends its request's headers
  // slowly is closed after as long (Node looks for those every few seconds).
  const http = createServer({ headersTimeout: JOIN_TIMEOUT_MS, connectionsCheckingInterval: 2000 }, (req, res) => page.handle(req, res));
  http.setTimeout(JOIN_TIMEOUT_MS);
  holdSockets(http, rooms.limits, log);
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
  server.on('connection', (ws, req) => rooms.accept(ws, req.socket.remoteAddress));
  const l = rooms.limits;
  // The operator sees what it serves, and why fewer connections than usual (a low `ulimit -n`).
  const files = descriptorLimit();
  log(
    `relay: serving at most ${l.joined} connections in rooms (${l.joinedPerAddress} per address), ${l.rooms} rooms of at most ${l.peersPerRoom} peers, ${l.waiting} connections waiting to join (${l.waitingPerAddress} per address)` +
      (files !== undefined && l.joined < (opts.limits?.joined ?? RELAY_LIMITS.joined) ? `; fewer connections than ${opts.limits?.joined ?? RELAY_LIMITS.joined} because this process may open only ${files} files (raise \`ulimit -n\` to serve more)` : ''),
  );

  const address = http.address();
  if (typeof address !== 'object' || address === null) throw new Error('relay has no address');
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: wsUrl(host, address.port),
    port: address.port,
    load: () => rooms.load(),
    close: () =>
      new Promise<void>((resolve) => {
        rooms.close();
        for (const client of server.clients) client.terminate();
        server.close(() => http.close(() => resolve()));
        http.closeAllConnections();
      }),
  };
}
