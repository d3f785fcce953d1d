/** Start a real daemon in this process (real sockets, real files) for a test project. */
import { Daemon } from '../../daemon/src/daemon.js';

export async function startDaemon(dir: string, name = 'tester'): Promise<Daemon> {
  const lines: string[] = [];
  return Daemon.start({ dir, name, log: (m) => lines.push(m) });
}
