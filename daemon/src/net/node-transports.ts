/**
 * The daemon's Transports (transports.ts): WebSocket through `ws`, WebRTC through
 * node-datachannel, and the host id from the machine. The only place the overlay's network
 * edges meet Node; the overlay itself stays platform-neutral (decision 065).
 */
import { localHostId } from './host-id.js';
import type { Transports } from './transports.js';
import { connectWebRtc, releaseWebRtcWhenIdle } from './webrtc.js';
import { dialWebSocket, listenWebSocket } from './websocket.js';

/** Transports for a Node process (node-datachannel starts its threads only when WebRTC is used). */
export function nodeTransports(): Transports {
  return {
    hostId: localHostId(),
    listen: (o) => listenWebSocket(o),
    dial: (url, o) => dialWebSocket(url, o),
    webrtc: { connect: (o) => connectWebRtc(o), releaseWhenIdle: () => releaseWebRtcWhenIdle() },
  };
}
