/**
 * WebRTC transport (node-datachannel): one PeerConnection with one reliable, ordered DataChannel,
 * signalled over a Link the peers already share (websocket or relay, secured). Link messages
 * cross the data channel in chunks (datachannel-frames.ts, shared with the browser page).
 *
 * No STUN server is configured: host candidates are enough on one machine or a LAN, and there is
 * no network to reach one in tests. `bindAddress: '127.0.0.1'` keeps ICE on loopback.
 * node-datachannel's threads keep the process alive until its `cleanup()`: the overlay releases them
 * when the last overlay stops (`releaseWebRtcWhenIdle`); `shutdownWebRtc()` does it unconditionally.
 * They also wake it ~100 times a second (usrsctp's SCTP timer thread sleeps a fixed 10 ms), so
 * they are released as well RELEASE_AFTER_MS after the last peer connection closed (decision 106).
 */
import { cleanup, PeerConnection, type DataChannel, type DescriptionType } from 'node-datachannel';
import { DataChannelLink } from './datachannel-link.js';
import type { WebRtcOptions } from './webrtc-signals.js';

export { isSignal, type Signal, type SignalChannel, type WebRtcOptions } from './webrtc-signals.js';

const live = new Set<PeerConnection>();
let used = false;
/** With no peer connection left for this long, node-datachannel's threads are stopped. */
const RELEASE_AFTER_MS = 2000;
let releaseTimer: ReturnType<typeof setTimeout> | undefined;

/** A peer connection closed: once none is left (and stays so a moment), stop the threads. */
function closedOne(pc: PeerConnection): void {
  live.delete(pc);
  if (live.size > 0 || releaseTimer !== undefined) return;
  releaseTimer = setTimeout(() => {
    releaseTimer = undefined;
    if (live.size === 0 && used) {
      cleanup();
      used = false;
    }
  }, RELEASE_AFTER_MS);
  releaseTimer.unref();
}

/** Close every peer connection and stop node-datachannel's threads. Call once at shutdown. */
export function shutdownWebRtc(): void {
  for (const pc of live) pc.close();
  live.clear();
  if (used) cleanup();
  used = false;
}

/**
 * Once every peer connection has closed (waiting up to `maxWaitMs` for teardowns in progress),
 * stop node-datachannel's threads so the process can exit. New connections work again afterwards.
 * The overlay calls this when the last overlay in the process stops.
 */
export async function releaseWebRtcWhenIdle(maxWaitMs = 3000): Promise<void> {
  const until = Date.now() + maxWaitMs;
  while (live.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (live.size === 0 && used) {
    cleanup();
    used = false;
  }
}

export class WebRtcLink extends DataChannelLink {
  readonly #pc: PeerConnection;

  constructor(pc: PeerConnection, dc: DataChannel, remote: string) {
    super(
      {
        send: (chunk) => void dc.sendMessageBinary(chunk), // false = queued; libdatachannel still delivers it
        isOpen: () => dc.isOpen(),
        bufferedAmount: () => dc.bufferedAmount(),
        close: () => {
          try {
            dc.close();
          } catch {
            /* already closed */
          }
          pc.close();
          closedOne(pc);
        },
      },
      remote,
    );
    this.#pc = pc;
    dc.onMessage((msg) => this.received(typeof msg === 'string' ? msg : msg instanceof ArrayBuffer ? new Uint8Array(msg) : new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
    dc.onClosed(() => this.ended('data channel closed'));
    dc.onError((err) => this.ended(`data channel error: ${err}`));
    pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.ended(`peer connection ${state}`);
    });
  }

  /** The round-trip time ICE measured, in ms, when known. */
  rttMs(): number | undefined {
    try {
      const rtt = this.#pc.rtt();
      return rtt >= 0 ? rtt : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Negotiate a data channel with the peer on the other end of `opts.signals`. */
export function connectWebRtc(opts: WebRtcOptions): Promise<WebRtcLink> {
  const remote = opts.remote ?? 'webrtc';
  return new Promise((resolve, reject) => {
    const config: ConstructorParameters<typeof PeerConnection>[1] = { iceServers: [] };
    if (opts.bindAddress) config.bindAddress = opts.bindAddress;
    const pc = new PeerConnection(`chorus-${opts.role}`, config);
    used = true;
    live.add(pc);
    let settled = false;
    let failed = false;
    let remoteDescriptionSet = false;
    // The answerer holds the offerer's candidates until the offerer says it has our answer (decision 268).
    let offererReady = opts.role === 'offerer';
    const earlyCandidates: Array<{ candidate: string; mid: string }> = [];

    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      failed = true;
      clearTimeout(timer);
      unsubscribe();
      setImmediate(() => {
        pc.close();
        closedOne(pc);
      });
      reject(new Error(`webrtc to ${remote} failed: ${why}`));
    };
    const succeed = (dc: DataChannel): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Candidates may still trickle in after open; keep applying them until the link closes.
      const link = new WebRtcLink(pc, dc, remote);
      link.once('close', () => unsubscribe());
      resolve(link);
    };
    const timer = setTimeout(() => fail('timed out'), opts.timeoutMs ?? 10_000);
    timer.unref();

    pc.onLocalDescription((sdp, type) => opts.signals.send({ t: 'description', type, sdp }));
    pc.onLocalCandidate((candidate, mid) => opts.signals.send({ t: 'candidate', candidate, mid }));
    pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed') fail(`peer connection ${state}`);
    });

    // libdatachannel creates the ICE transport asynchronously after the descriptions are applied;
    // a candidate that arrives first is kept and retried rather than failing the attempt.
    const applyCandidates = (): void => {
      while (earlyCandidates.length > 0 && !failed) {
        const c = earlyCandidates[0]!;
        try {
          pc.addRemoteCandidate(c.candidate, c.mid);
        } catch (err) {
          if (/without ICE transport/.test((err as Error).message)) {
            setTimeout(applyCandidates, 20).unref();
            return;
          }
          // Any other bad candidate is skipped; ICE uses the rest or the attempt times out.
        }
        earlyCandidates.shift();
      }
    };

    const unsubscribe = opts.signals.onSignal((signal) => {
      if (signal.t === 'description') {
        try {
          pc.setRemoteDescription(signal.sdp, signal.type as DescriptionType);
        } catch (err) {
          fail(`bad description (${(err as Error).message})`);
          return;
        }
        remoteDescriptionSet = true;
        // setRemoteDescription has returned: libdatachannel holds the answer's fingerprint now.
        if (opts.role === 'offerer') opts.signals.send({ t: 'ready' });
      } else if (signal.t === 'ready') {
        offererReady = true;
      } else {
        earlyCandidates.push(signal);
      }
      if (remoteDescriptionSet && offererReady) applyCandidates();
    });

    if (opts.role === 'offerer') {
      const dc = pc.createDataChannel('chorus');
      dc.onOpen(() => succeed(dc));
    } else {
      pc.onDataChannel((dc) => {
        if (dc.isOpen()) succeed(dc);
        else dc.onOpen(() => succeed(dc));
      });
    }
  });
}
