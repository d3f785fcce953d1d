/**
 * What WebRTC needs from the overlay, on any platform: the signalling messages peers exchange
 * over a link they already share, and the options one connection attempt takes. The data channel
 * itself is the platform's (webrtc.ts: node-datachannel in the daemon; RTCPeerConnection in a
 * browser), injected through Transports (transports.ts).
 */

/**
 * One signalling message. `ready` goes from the offerer once it has applied the answer: the
 * answerer applies the offerer's candidates only after it (decision 268). Until then the answerer
 * sends no ICE check, so the offerer's ICE cannot connect, and its DTLS cannot start, in the moment
 * while libdatachannel has handed the answer to ICE but not yet stored its fingerprint; a
 * certificate checked in that moment is refused ("DTLS alert: unknown CA").
 */
export type Signal =
  | { t: 'description'; type: string; sdp: string }
  | { t: 'candidate'; candidate: string; mid: string }
  | { t: 'ready' };

/** Carries signalling messages to the other side (in order) and delivers theirs. */
export interface SignalChannel {
  send(signal: Signal): void;
  /** Subscribe to the other side's signals; returns an unsubscribe function. */
  onSignal(handler: (signal: Signal) => void): () => void;
}

export interface WebRtcOptions {
  /** Exactly one side offers; the overlay picks the lower peer id. */
  role: 'offerer' | 'answerer';
  signals: SignalChannel;
  /** Bind ICE to one address (e.g. 127.0.0.1 in tests); all interfaces when absent. */
  bindAddress?: string;
  timeoutMs?: number;
  /** For logs. */
  remote?: string;
}

/** Is `value` a well-formed signal? A peer's signal is untrusted input. */
export function isSignal(value: unknown): value is Signal {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.t === 'description') return typeof v.type === 'string' && typeof v.sdp === 'string';
  if (v.t === 'candidate') return typeof v.candidate === 'string' && typeof v.mid === 'string';
  return v.t === 'ready';
}
