/**
 * The join link for a browser (issue 17): `http://HOST:PORT/#<join code>`, HOST:PORT being an
 * address the sharing daemon listens on (it serves the page there), or the relay's when the code
 * has no direct address. The secret travels in the fragment, which browsers never send to a server.
 */
import { isLoopbackHost } from './host-addrs.js';
import { decodeJoinCode } from './join-code.js';

/**
 * The link that opens `code` in a browser. For `others` (the default), a LAN address is preferred
 * over loopback (the link is for someone else, and it works on this machine too); for `here`, a
 * loopback one: a page from 127.0.0.1 is a secure context, so its tabs share one offline copy
 * (Web Locks), which a page from a LAN address over plain http never is. IPv4 before IPv6. Throws
 * JoinCodeError for a damaged code.
 */
export function pageLink(code: string, forWhom: 'others' | 'here' = 'others'): string {
  const decoded = decodeJoinCode(code);
  const hosts = decoded.addrs.flatMap((a) => {
    try {
      const u = new URL(a);
      return u.protocol === 'ws:' || u.protocol === 'wss:' ? [u] : [];
    } catch {
      return [];
    }
  });
  const loopbackRank = forWhom === 'here' ? 0 : 2;
  const rank = (u: URL): number => (isLoopbackHost(u.hostname) ? loopbackRank : 2 - loopbackRank) + (u.hostname.startsWith('[') ? 1 : 0);
  const best = hosts.sort((a, b) => rank(a) - rank(b))[0] ?? (decoded.relayUrl ? new URL(decoded.relayUrl) : undefined);
  if (!best) throw new Error('the join code has no address to serve the page from');
  const scheme = best.protocol === 'wss:' ? 'https:' : 'http:';
  return `${scheme}//${best.host}/#${code}`;
}
