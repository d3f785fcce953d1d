/**
 * Trial s59 F7: `chorus status` listed a member as "(no name yet)" once it was out of reach,
 * while every editor had just said "Dave is out of reach". Dave was a browser tab: it names
 * itself after it links (its hello has no name), so only its presence gave the name, and that
 * went with its presence. Now status keeps the name its presence last gave.
 */
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { decodeJoinCode, encodeJoinCode } from '../../daemon/src/net/join-code.js';
import { PRESENCE_TOPIC } from '../../daemon/src/presence/presence.js';
import { configKeys } from '../../daemon/src/session/session-file.js';
import { startDaemon } from '../support/in-process.js';
import { MaliciousPeer } from '../support/malicious-peer.js';
import { tempProject } from '../support/project-dir.js';
import { stopAll, until } from './peer-helpers.js';

let daemons: Daemon[] = [];
let peers: MaliciousPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
  [daemons] = await stopAll(daemons, []);
});

it('a member whose only name came from its presence keeps that name in status once it has gone', { timeout: 120_000 }, async () => {
  const h = await startDaemon(tempProject({ 'a.txt': 'x\n' }), 'host');
  daemons.push(h);
  const code = await h.share({ host: '127.0.0.1', webrtc: false });
  // As a browser tab links: a hello without a name.
  const dave = await MaliciousPeer.join(encodeJoinCode({ ...decodeJoinCode(code), keys: configKeys(h.session.session!) }), h.identity.id, { meta: { name: undefined, color: undefined } });
  peers.push(dave);
  const listed = () => h.status().peers.find((p) => p.id === dave.id);
  await until(() => listed()?.state === 'connected', 'the member linked');
  expect(listed()?.name).toBe('(no name yet)');
  // Its person chose a name: its presence says it.
  dave.send({ kind: 'ephemeral', topic: PRESENCE_TOPIC, body: { clock: 1, name: 'Dave', color: '#3cb44b', editors: [] } });
  await until(() => listed()?.name === 'Dave', 'status naming it Dave');
  // Gone (a goodbye here; out of reach is the same once its grace is over).
  await dave.close();
  peers = [];
  await until(() => listed()?.state !== 'connected', 'the member gone');
  // And out of presence's view (its grace over), as Dave was for the trial's member offline for a minute.
  await until(() => !h.presence.peers().some((p) => p.id === dave.id), 'the member out of presence', 60_000);
  expect(listed()).toMatchObject({ name: 'Dave', color: '#3cb44b' });
});
