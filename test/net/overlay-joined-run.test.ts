// Decision 272: a joiner is told to editors once its join is done (`Overlay.joinState`). A hello
// of the same run that still says `joining` after its `joined`, on a new path of a link that stays
// up (a WebRTC upgrade begun mid-join crossing `joined`; here a peer whose hellos keep saying so,
// moving between WebSocket and WebRTC), made it a joiner again for good: never told to editors,
// left out of gossip. Real overlays on loopback, real WebRTC.
import { afterEach, expect, it } from 'vitest';
import { Cluster, connectedTo, waitFor } from './overlay-harness.js';

const cluster = new Cluster();
afterEach(() => cluster.stopAll());

it('a run that said its join was done stays a member when a later hello of that run says joining', { timeout: 60_000 }, async () => {
  const timing = { pingIntervalMs: 300, webrtcIdleMs: 1500 };
  const a = await cluster.start('a', { webrtc: true, timing });
  // Its hellos say `joining` for the whole run: every new path brings the late hello of the crossing.
  const b = await cluster.start('b', { webrtc: true, timing, seeds: a.addrs, selfMeta: { name: 'b', joining: true } });
  await waitFor('b linked to a', () => connectedTo(a).includes('b'), 20_000, [a, b]);
  expect(a.overlay.joinState('b')).toBe('joining');
  b.overlay.joined();
  await waitFor("a to hear b's join is done", () => a.overlay.joinState('b') === undefined, 20_000, [a, b]);
  // The link moves to another path (idle on WebRTC: back to WebSocket, or up to WebRTC), the
  // session staying up: a new hello of the same run, saying `joining`.
  const switches = () => a.logs.filter((l) => l.includes('peer b: switching to')).length;
  const before = switches();
  await waitFor('a path switch after the join', () => switches() > before, 30_000, [a, b]);
  await new Promise((r) => setTimeout(r, 500));
  expect(a.overlay.joinState('b')).toBeUndefined();
});
