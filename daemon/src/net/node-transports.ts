/**
 * The daemon's Transports (transports.ts): WebSocket through `ws`, WebRTC through
 * node-datachannel, and the host id from the machine. The only place the overlay's network
 * edges meet Node; the overlay itself stays platform-neutral (decision 065).
 */
import { localHostId } from './host-id.js';
import type { PageServer } from './page-server.js';
import type { RelayRooms } from './relay-server.js';
import type { Transports } from './transports.js';
import { connectWebRtc, releaseWebRtcWhenIdle } from './webrtc.js';
import { dialWebSocket, listenWebSocket } from './websocket.js';

export interface NodeTransportOptions {
  /** Serve the browser page on the listening port (issue 17). */
  page?: PageServer;
  /** Relay for the session's pages on the listening port (see websocket.ts RELAY_PATH). */
  relay?: () => RelayRooms;
}

/** Transports for a Node process (node-datachannel starts its threads only when WebRTC is used). */
export function nodeTransports(opts: NodeTransportOptions = {}): Transports {
  return {
    hostId: localHostId(),
    listen: (o) => listenWebSocket({ ...o, ...(opts.page ? { page: opts.page } : {}), ...(opts.relay ? { relay: opts.relay() } : {}) }),
    dial: (url, o) => dialWebSocket(url, o),
    webrtc: { connect: (o) => connectWebRtc(o), releaseWhenIdle: () => releaseWebRtcWhenIdle() },
  };
}
