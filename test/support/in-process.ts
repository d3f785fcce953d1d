/** Start real daemons in this process (real sockets, real files, real peers) for tests. */
import { Daemon, type DaemonOptions } from '../../daemon/src/daemon.js';

const logs = new WeakMap<Daemon, string[]>();

/** A daemon on `dir`; `opts` adds Daemon.start options (e.g. `wrapNetwork` for fault injection). */
export async function startDaemon(dir: string, name = 'tester', opts: Pick<DaemonOptions, 'wrapNetwork'> = {}): Promise<Daemon> {
  const lines: string[] = [];
  const d = await Daemon.start({ dir, name, log: (m) => lines.push(m), ...opts });
  logs.set(d, lines);
  return d;
}

/** What a daemon started here has logged. */
export function logsOf(d: Daemon): string[] {
  return logs.get(d) ?? [];
}

/** Share `host`'s folder and join each of `guests` to it, on loopback. */
export async function joinAll(host: Daemon, guests: Daemon[], opts: { webrtc?: boolean } = {}): Promise<void> {
  const code = await host.share({ host: '127.0.0.1', ...(opts.webrtc === false ? { webrtc: false } : {}) });
  for (const g of guests) await g.join(code, { disk: true, host: '127.0.0.1', ...(opts.webrtc === false ? { webrtc: false } : {}) }, () => undefined);
}
