/**
 * This machine's host id (Node only: it reads /etc/machine-id and the network interfaces). Tagged
 * onto advertised addresses and sent in the overlay hello, so a peer on the same machine can tell
 * (host-addrs.ts). The daemon hands it to the overlay through its Transports (node-transports.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

let cached: string | undefined;

/** 16 hex characters, the same on every run on one machine and different across machines. */
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
