/**
 * The page's Transports (daemon/src/net/transports.ts): the browser's WebSocket to dial, and
 * RTCPeerConnection for WebRTC, signalled over links the overlay already has, exactly as daemons
 * do. A page cannot listen, so there is no `listen`: it dials the peer that served it (and the
 * addresses in the join code), and reaches other pages through that peer's relay, then WebRTC.
 *
 * The data channel framing is the daemon's (daemon/src/net/datachannel-frames.ts), so a page and
 * a daemon can link over WebRTC too.
 */
import { BaseLink, DataChannelLink, type Link, type LinkKind, type Transports, type WebRtcOptions } from './core.js';

const utf8 = new TextEncoder();

/** A browser WebSocket as a Link: one binary message is one Link message. */
export class BrowserWebSocketLink extends BaseLink {
  readonly kind: LinkKind = 'websocket';
  readonly remote: string;
  readonly #ws: WebSocket;

  constructor(ws: WebSocket, remote: string) {
    super();
    this.#ws = ws;
    this.remote = remote;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (ev: MessageEvent) => {
      if (typeof ev.data === 'string') {
        this.close('protocol error: text frame on a binary link');
        return;
      }
      this.deliver(new Uint8Array(ev.data as ArrayBuffer));
    });
    ws.addEventListener('close', (ev: CloseEvent) => {
      this.closed(ev.reason ? `closed by peer: ${ev.reason}` : ev.wasClean ? `connection closed (code ${ev.code})` : 'connection lost');
    });
  }

  /** Bytes queued by `send` and not yet sent (the browser's `WebSocket.bufferedAmount`; decision 149). */
  bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  protected transmit(data: Uint8Array): void {
    try {
      this.#ws.send(data as Uint8Array<ArrayBuffer>);
    } catch (err) {
      this.closed(`send failed (${(err as Error).message})`);
    }
  }

  protected shutdown(reason: string): void {
    // Close reasons are limited to 123 bytes of UTF-8.
    let short = reason;
    while (utf8.encode(short).length > 120) short = short.slice(0, -1);
    try {
      this.#ws.close(1000, short);
    } catch {
      this.#ws.close();
    }
  }
}

/** Dial a `ws://` address with the browser's WebSocket. */
export function dialBrowserWebSocket(url: string, opts: { timeoutMs?: number }): Promise<Link> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      reject(new Error(`cannot dial ${url}: ${(err as Error).message}`));
      return;
    }
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => fail('timed out'), opts.timeoutMs ?? 5000);
    const fail = (why: string): void => {
      clearTimeout(timer);
      ws.onopen = ws.onerror = null;
      try {
        ws.close();
      } catch {
        /* never opened */
      }
      // The browser does not say why a WebSocket failed (on purpose); "unreachable" is all we know.
      reject(Object.assign(new Error(`cannot reach ${url} (${why})`), { code: 'EUNREACHABLE' }));
    };
    ws.onerror = () => fail('connection failed');
    ws.onopen = () => {
      clearTimeout(timer);
      ws.onopen = ws.onerror = null;
      resolve(new BrowserWebSocketLink(ws, url));
    };
  });
}

/** An RTCDataChannel as a Link: the core's DataChannelLink, framed exactly like the daemon's WebRtcLink. */
function browserWebRtcLink(pc: RTCPeerConnection, dc: RTCDataChannel, remote: string): DataChannelLink {
  const link = new DataChannelLink(
    {
      send: (chunk) => dc.send(chunk as Uint8Array<ArrayBuffer>),
      isOpen: () => dc.readyState === 'open',
      bufferedAmount: () => dc.bufferedAmount,
      close: () => {
        dc.close();
        pc.close();
      },
    },
    remote,
  );
  dc.binaryType = 'arraybuffer';
  dc.onmessage = (ev: MessageEvent) => link.received(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
  dc.onclose = () => link.ended('data channel closed');
  dc.onerror = () => link.ended('data channel error');
  pc.addEventListener('connectionstatechange', () => {
    const s = pc.connectionState;
    if (s === 'failed' || s === 'closed' || s === 'disconnected') link.ended(`peer connection ${s}`);
  });
  return link;
}

/** Negotiate a data channel with the peer at the other end of `opts.signals` (as webrtc.ts does). */
export function connectBrowserWebRtc(opts: WebRtcOptions): Promise<Link> {
  const remote = opts.remote ?? 'webrtc';
  return new Promise((resolve, reject) => {
    // No STUN/TURN server: nothing the page talks to may be anywhere but the session's peers.
    const pc = new RTCPeerConnection({ iceServers: [] });
    let settled = false;
    let remoteSet = false;
    // As in webrtc.ts: the answerer holds the offerer's candidates until the offerer has our answer (decision 268).
    let offererReady = opts.role === 'offerer';
    const early: RTCIceCandidateInit[] = [];
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      pc.close();
      reject(new Error(`webrtc to ${remote} failed: ${why}`));
    };
    const succeed = (dc: RTCDataChannel): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const link = browserWebRtcLink(pc, dc, remote);
      link.once('close', () => unsubscribe());
      resolve(link);
    };
    const timer = setTimeout(() => fail('timed out'), opts.timeoutMs ?? 10_000);
    pc.onicecandidate = (ev) => {
      if (ev.candidate && ev.candidate.candidate) opts.signals.send({ t: 'candidate', candidate: ev.candidate.candidate, mid: ev.candidate.sdpMid ?? '0' });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') fail(`peer connection ${pc.connectionState}`);
    };
    const addCandidates = (): void => {
      for (const c of early.splice(0)) pc.addIceCandidate(c).catch(() => undefined); // a bad candidate is skipped
    };
    const unsubscribe = opts.signals.onSignal((signal) => {
      if (signal.t === 'candidate') {
        early.push({ candidate: signal.candidate, sdpMid: signal.mid });
        if (remoteSet && offererReady) addCandidates();
        return;
      }
      if (signal.t === 'ready') {
        offererReady = true;
        if (remoteSet) addCandidates();
        return;
      }
      if (signal.type !== 'offer' && signal.type !== 'answer') {
        fail(`unexpected description type ${signal.type}`);
        return;
      }
      pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp })
        .then(async () => {
          remoteSet = true;
          if (signal.type === 'answer') opts.signals.send({ t: 'ready' });
          if (offererReady) addCandidates();
          if (signal.type === 'offer') {
            await pc.setLocalDescription();
            const local = pc.localDescription;
            if (local) opts.signals.send({ t: 'description', type: local.type, sdp: local.sdp });
          }
        })
        .catch((err: Error) => fail(`bad description (${err.message})`));
    });
    if (opts.role === 'offerer') {
      const dc = pc.createDataChannel('chorus', { ordered: true });
      dc.onopen = () => succeed(dc);
      pc.setLocalDescription()
        .then(() => {
          const local = pc.localDescription;
          if (local) opts.signals.send({ t: 'description', type: local.type, sdp: local.sdp });
        })
        .catch((err: Error) => fail(`cannot make an offer (${err.message})`));
    } else {
      pc.ondatachannel = (ev) => {
        const dc = ev.channel;
        if (dc.readyState === 'open') succeed(dc);
        else dc.onopen = () => succeed(dc);
      };
    }
  });
}

/** A per-tab host id: pages never share a machine's loopback with a daemon, so any unique id works. */
function pageHostId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return 'page-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The page's Transports: dial with WebSocket, upgrade with RTCPeerConnection, never listen. */
export function browserTransports(): Transports {
  return {
    hostId: pageHostId(),
    dial: (url, o) => dialBrowserWebSocket(url, o),
    ...(typeof RTCPeerConnection === 'function' ? { webrtc: { connect: (o: WebRtcOptions) => connectBrowserWebRtc(o) } } : {}),
  };
}
