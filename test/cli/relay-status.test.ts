// `chorus status` says whether the session's relay is reached. A share with a relay nobody
// answers at said nothing of it: status showed "relay ws://…" as if all were well, and only the
// daemon's log said "cannot reach … retrying", so a person believed peers behind a NAT could join
// (a user trial). Real daemons and a real `chorus relay`, run by the built CLI, on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import { chorus, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});

/** A loopback port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

type Session = NonNullable<P.ResultOf<typeof P.SessionStatus>['session']>;
const session = (dir: string): Session | null => (JSON.parse(chorus(['status', dir, '--json']).stdout) as { session: Session | null }).session;

it('chorus status says when the relay is not reached and why, and when it is', async () => {
  const unreachable = `ws://127.0.0.1:${await closedPort()}`;
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const shared = chorus(['share', a, '--json', '--host', '127.0.0.1', '--relay', unreachable]);
  expect(shared.status, shared.stderr).toBe(0);
  await waitUntil('status to tell of the relay', () => session(a)?.relayState !== undefined, 30_000);
  const state = session(a)!.relayState!;
  expect(state.connected).toBe(false);
  expect(state.problem).toBe(`cannot reach ${unreachable}: connection refused`);
  const text = chorus(['status', a]).stdout;
  expect(text).toContain(`relay ${unreachable} (not reached: cannot reach ${unreachable}: connection refused; retrying; peers who can only meet through it cannot join meanwhile)`);
  // No system error code (ECONNREFUSED); looked for outside the project's path, whose random
  // temp-folder name can itself be one such word ("chorus-test-ELDBGD" failed a full run).
  expect(text.replaceAll(a, '<project>')).not.toMatch(/\bE[A-Z]{4,}\b/);

  // A relay that answers: connected.
  const relay = spawn(process.execPath, [CLI, 'relay', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(relay);
  let said = '';
  relay.stderr!.on('data', (d) => (said += String(d)));
  await waitUntil('the relay to listen', () => /listening on (ws:\/\/\S+);/.test(said), 30_000);
  const url = /listening on (ws:\/\/\S+);/.exec(said)![1]!;
  const b = tempProject({ 'b.txt': 'b\n' });
  used.push(b);
  const again = chorus(['share', b, '--json', '--host', '127.0.0.1', '--relay', url]);
  expect(again.status, again.stderr).toBe(0);
  await waitUntil('status to say the relay is connected', () => session(b)?.relayState?.connected === true, 30_000);
  expect(chorus(['status', b]).stdout).toContain(`relay ${url} (connected)`);
}, 120_000);
