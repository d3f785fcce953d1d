// `chorus status`'s text (statusText in daemon/src/commands.ts) for a member catching up after
// time apart: a line saying how many files are still syncing, and each peer's count beside its
// state (s53 N2: a member 218 files behind showed only "connected", with round trips of a minute).
import type * as Schemas from '@chorus/protocol';
import { expect, it } from 'vitest';
import { statusText } from '../../daemon/src/commands.js';

type Status = Schemas.ResultOf<typeof Schemas.SessionStatus>;

const answer = (peers: Status['peers']): Status => ({
  root: '/home/ana/app',
  version: '0.0.0',
  pid: 42,
  protocolVersion: 1,
  peer: { id: 'a'.repeat(16), name: 'Ana', color: '#336699' },
  buffers: [],
  editors: [],
  peers,
  writing: 0,
  waitingForContent: 0,
  session: null,
});

it('a member still syncing files with peers says how many, in all and per peer', () => {
  const text = statusText(
    answer([
      { id: 'b'.repeat(16), name: 'Bo', color: '#aa0000', path: 'websocket', state: 'connected', rttMs: 66_012.4, syncing: 218 },
      { id: 'c'.repeat(16), name: 'Cy', color: '#00aa00', path: 'websocket', state: 'connected', rttMs: 1.5, syncing: 1 },
    ]),
  );
  expect(text).toContain('\nsyncing   218 files with peers (changes made while apart; each file here is up to date once it is level)\n');
  expect(text).toContain('\n  Bo bbbbbbbb via websocket connected (syncing 218 files) rtt 66012.4 ms\n');
  expect(text).toContain('\n  Cy cccccccc via websocket connected (syncing 1 file) rtt 1.5 ms\n');
});

it('level with every peer: no syncing line, and peers as before', () => {
  const text = statusText(answer([{ id: 'b'.repeat(16), name: 'Bo', color: '#aa0000', path: 'websocket', state: 'connected', rttMs: 0.8 }]));
  expect(text).not.toContain('syncing');
  expect(text).toContain('\n  Bo bbbbbbbb via websocket connected rtt 0.8 ms\n');
  expect(statusText(answer([]))).toContain('\npeers     none\n');
});
