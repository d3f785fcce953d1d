/**
 * Which of a peer's advertised addresses to dial. A daemon listening on all interfaces
 * advertises loopback and its LAN addresses, each tagged with a host id (`?host=…`). A peer on
 * the same machine dials only the loopback ones (they always work there, and nothing leaves the
 * machine); a peer elsewhere never dials another machine's loopback. Untagged addresses (an
 * explicit --host) are dialed as they are.
 *
 * Platform-neutral: the host id itself comes from the platform (host-id.ts for the daemon).
 */

/** `url` tagged with the host id of the machine it belongs to. */
export function tagAddr(url: string, hostId: string): string {
  return `${url}/?host=${hostId}`;
}

/** `url` without the host id `tagAddr` gave it, as a person reads an address (`chorus status`). */
export function untagged(url: string): string {
  const suffix = /\/\?host=[^/?#]*$/.exec(url);
  return suffix ? url.slice(0, suffix.index) : url;
}

/** Whether a URL's `hostname` names this machine's loopback (`localhost`, 127.x, `[::1]`). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.startsWith('127.') || hostname === '[::1]';
}

function hostOf(url: string): { host?: string; loopback: boolean } {
  try {
    const u = new URL(url);
    const h = u.searchParams.get('host') ?? undefined;
    const loopback = isLoopbackHost(u.hostname);
    return h ? { host: h, loopback } : { loopback };
  } catch {
    return { loopback: false };
  }
}

/** The addresses worth dialing from the machine whose host id is `self`, loopback first. */
export function dialable(addrs: string[], self: string): string[] {
  const out = addrs.filter((a) => {
    const { host, loopback } = hostOf(a);
    if (host === undefined) return true;
    return host === self ? loopback : !loopback;
  });
  return out.sort((a, b) => Number(hostOf(b).loopback) - Number(hostOf(a).loopback));
}
