/**
 * The platform edges of the peer network, injected into the Overlay: how this platform listens
 * for, dials and upgrades links. The overlay, the handshake and everything above them only ever
 * see Links (link.ts), so the same code runs in the daemon and in a browser page (decision 065).
 *
 * The daemon's implementation is node-transports.ts (`ws` and node-datachannel); a page would
 * provide the browser's WebSocket and RTCPeerConnection and no `listen`.
 */
import type { Link } from './link.js';
import type { WebRtcOptions } from './webrtc-signals.js';

/** A listening endpoint. */
export interface Listener {
  /** `ws://host:port` addresses peers can dial (tagged with the host id where that matters). */
  readonly addrs: string[];
  close(): Promise<void>;
}

export interface Transports {
  /**
   * A stable id of this machine (host-addrs.ts): sent in the hello, so a peer on the same machine
   * keeps WebRTC on loopback, and used to choose which advertised addresses to dial.
   */
  readonly hostId: string;
  /** Accept direct links at host:port (port 0: any free port). Absent where the platform cannot listen. */
  listen?(opts: { host: string; port: number; onLink: (link: Link) => void }): Promise<Listener>;
  /**
   * Dial a `ws://` address (a peer or a relay). Rejects with a readable Error, carrying the system
   * error in `code` (e.g. ECONNREFUSED) where the platform knows it.
   */
  dial(url: string, opts: { timeoutMs?: number }): Promise<Link>;
  /** WebRTC data channels; absent where the platform has none (then peers stay on WebSocket or relay). */
  webrtc?: {
    connect(opts: WebRtcOptions): Promise<Link>;
    /** Called when the last overlay in this process stops: release what keeps the process alive. */
    releaseWhenIdle?(): Promise<void>;
  };
}

/**
 * A failed dial's system error `code` (Transports.dial's `code`) in words: ECONNREFUSED is
 * "connection refused", ENOTFOUND "no such host", any other "no route to the host".
 */
export function dialFailureInWords(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'no such host';
    default:
      return 'no route to the host';
  }
}
