/**
 * What a join link gives the page: the join code from the URL fragment (the secret never leaves
 * the browser: fragments are not sent to servers), and who served the page, from its meta tag.
 */
import { decodeJoinCode, JoinCodeError, type JoinCode } from './core.js';

export interface JoinTarget {
  /** The code as in the link (what `chorus share` printed). */
  text: string;
  code: JoinCode;
  /** The origin that served the page: a daemon to dial, or a relay. */
  served: { by: 'daemon' | 'relay' | 'unknown'; origin: string };
}

/** Thrown for a link without a usable code; the message says what to do. */
export class JoinLinkError extends Error {}

/** Read the join target from `location` and the page's meta tag. Throws JoinLinkError. */
export function joinTarget(loc: Location, doc: Document): JoinTarget {
  const raw = decodeURIComponent(loc.hash.replace(/^#/, '')).trim();
  if (!raw) throw new JoinLinkError('This link has no join code after the #. Ask for the whole link printed by `chorus share`.');
  let code: JoinCode;
  try {
    code = decodeJoinCode(raw);
  } catch (e) {
    if (e instanceof JoinCodeError) throw new JoinLinkError(`The join code in this link does not work: ${e.message}. Copy the whole link again.`);
    throw e;
  }
  const by = doc.querySelector('meta[name="chorus-page-host"]')?.getAttribute('content');
  return { text: raw, code, served: { by: by === 'daemon' || by === 'relay' ? by : 'unknown', origin: loc.host } };
}

/**
 * Where the page dials: the daemon that served it (reachable: the page came from it), for as long
 * as the page runs, and the code's addresses; and a relay — the serving daemon's own (so pages it served
 * reach each other, then upgrade to WebRTC) or the session's.
 */
export function dialPlan(target: JoinTarget, secure: boolean): { seeds: string[]; anchors: string[]; relayUrl?: string } {
  const ws = secure ? 'wss' : 'ws';
  if (target.served.by === 'daemon') {
    // The serving daemon is dialed for as long as the page runs: after a restart it cannot dial us.
    return { seeds: target.code.addrs, anchors: [`${ws}://${target.served.origin}/`], relayUrl: `${ws}://${target.served.origin}/relay` };
  }
  if (target.served.by === 'relay') return { seeds: target.code.addrs, anchors: [], relayUrl: `${ws}://${target.served.origin}/` };
  return { seeds: target.code.addrs, anchors: [], ...(target.code.relayUrl ? { relayUrl: target.code.relayUrl } : {}) };
}
