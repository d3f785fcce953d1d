// Trial s53 (F2): an edit made offline on one line, and an editor's edit of the same line on the
// other side, merged with the offline words in the wrong place: Bob's "Run `fn` BOB-1 soon" became
// "ALICE-ED-1 Run `fn` soon BOB-1". Alice's editor had replaced the whole line (as VS Code and
// Emacs do for a replace or a paste over it), deleting and inserting characters it left as they
// were, and Bob's words, anchored to those deleted characters, went after her whole new line.
// An editor's change is now taken as what it really changed: the replaced text and the new text
// lose what they have in common at their start and end.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, startPeer, stopAllPeers, stopPeer } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const LINES = ['// timers', ' * Run `fn` soon, after the current turn', ' * then more', ''].join('\n');

it("an editor's whole-line replace and an offline edit inside that line both land where their authors put them", async () => {
  const { a, b } = await sharedPair({ 'timers.ts': LINES });
  await converged(a, b, 'the first sync');
  await stopPeer(b);
  // Bob, offline: a word in the middle of line 2.
  fs.writeFileSync(path.join(b.dir, 'timers.ts'), LINES.replace('Run `fn` soon', 'Run `fn` BOB-1 soon'));
  // Alice, in her editor: the whole of line 2 replaced by itself with a word in front.
  const ed = await editor(a.daemon.project.socketPath);
  const text = await ed.open('timers.ts');
  const line = ' * Run `fn` soon, after the current turn';
  const start = text.indexOf(line);
  await ed.edit('timers.ts', start, start + line.length, ' * ALICE-ED-1 Run `fn` soon, after the current turn');
  const b2 = await startPeer(b.dir, 'bob');
  const files = await converged(a, b2, 'both folders to settle');
  expect(files['timers.ts']).toBe(LINES.replace('Run `fn` soon', 'ALICE-ED-1 Run `fn` BOB-1 soon'));
});
