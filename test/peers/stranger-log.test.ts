// A stranger who can reach a peer port holds no join code, and every connection it opens is
// refused at the handshake. Each refusal also wrote a line of its own to the daemon's log (the
// session's 'refused' handler), beside the overlay's rate-limited one: there is no log rotation,
// so a stranger could fill the member's disk, one connection a line.
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { decodeJoinCode } from '../../daemon/src/net/join-code.js';
import { logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { stopAll, until } from './peer-helpers.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  [daemons] = await stopAll(daemons, []);
});

it("a stranger's 300 garbled handshakes write a few lines to the log, not one each, and a member still joins", async () => {
  const h = await startDaemon(tempProject({ 'a.txt': 'a\n' }), 'host');
  daemons.push(h);
  const code = await h.share({ host: '127.0.0.1', webrtc: false });
  const addr = decodeJoinCode(code).addrs[0]!;
  const { WebSocket } = await import('ws');
  /** One connection that sends a frame no handshake has, and is refused. */
  const garble = () =>
    new Promise<void>((resolve) => {
      const ws = new WebSocket(addr);
      ws.on('error', () => resolve());
      ws.on('open', () => ws.send(Buffer.from([0x7f, 1, 2, 3])));
      ws.on('close', () => resolve());
    });
  for (let i = 0; i < 300; i += 20) await Promise.all(Array.from({ length: 20 }, garble));
  const about = () => logsOf(h).filter((l) => /not a Chorus peer/.test(l));
  await until(() => about().length > 0, 'the refusals in the log');
  // Seen by the daemon: every one refused (300 refusals, whatever the log says of them).
  expect(about().length, about().join('\n')).toBeLessThanOrEqual(5);

  // It serves on: a member joins.
  const b = await startDaemon(tempProject(), 'b');
  daemons.push(b);
  await b.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  await until(() => b.workspace.index.idOf('a.txt') !== undefined, 'a.txt on the member');
}, 60_000);
