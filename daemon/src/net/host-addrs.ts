/**
 * Which of a peer's advertised addresses to dial. A daemon listening on all interfaces
 * advertises loopback and its LAN addresses, each tagged with a host id (`?host=…`). A peer on
 * the same machine dials only the loopback ones (they always work there, and nothing leaves the
 * machine); a peer elsewhere never dials another machine's loopback. Untagged addresses (an
 * explicit --host) are dialed as they are.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

let cached: string | undefined;

export function localHostId(): string {
  if (!cached) {
    let machine = '';
    try {
      machine = fs.readFileSync('/etc/machine-id', 'utf8').trim();
    } catch {
      // not every system has one; the host name and interfaces still tell machines apart
    }
    const macs = Object.values(os.networkInterfaces())
      .flat()
      .map((n) => n?.mac ?? '')
      .filter((m) => m && m !== '00:00:00:00:00:00')
      .sort();
    cached = createHash('sha256').update(`${os.hostname()}|${machine}|${macs.join(',')}`).digest('hex').slice(0, 16);
  }
  return cached;
}

export function tagAddr(url: string, hostId = localHostId()): string {
  return `${url}/?host=${hostId}`;
}

function hostOf(url: string): { host?: string; loopback: boolean } {
  try {
    const u = new URL(url);
    const h = u.searchParams.get('host') ?? undefined;
    const loopback = u.hostname === 'localhost' || u.hostname.startsWith('127.') || u.hostname === '[::1]';
    return h ? { host: h, loopback } : { loopback };
  } catch {
    return { loopback: false };
  }
}

/** The addresses worth dialing from this machine, loopback first. */
export function dialable(addrs: string[], self = localHostId()): string[] {
  const out = addrs.filter((a) => {
    const { host, loopback } = hostOf(a);
    if (host === undefined) return true;
    return host === self ? loopback : !loopback;
  });
  return out.sort((a, b) => Number(hostOf(b).loopback) - Number(hostOf(a).loopback));
}
