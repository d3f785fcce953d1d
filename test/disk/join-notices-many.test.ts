// A join into a folder that has many of the session's files byte for byte, and a few in other
// versions: the join names every file it kept aside (trial s54a, F1). Each identical file was
// said first ("created on two peers with the same content") and dropped afterwards, but the join
// collected only its first 50 notices: those it named were all dropped, and none of the three
// kept aside was named (4 of 4 such joins in the trial). Real daemons on loopback.
import { afterEach, expect, it } from 'vitest';
import { atMost } from '../../daemon/src/session/session-manager.js';
import { startPeer, stopAllPeers } from '../support/disk-peers.js';
import { tempProject } from '../support/project-dir.js';

afterEach(stopAllPeers);

it('a join into 200 identical files and 3 different ones names the 3 kept aside', async () => {
  const same = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`]));
  const differ = ['README.md', 'sub/zz-notes.txt', 'zz-last.txt'];
  const a = await startPeer(tempProject({ ...same, ...Object.fromEntries(differ.map((n) => [n, `the session's ${n}\n`])) }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const b = await startPeer(tempProject({ ...same, ...Object.fromEntries(differ.map((n) => [n, `this folder's ${n}\n`])) }, 'chorus-disk-b-'), 'bob');
  const joined = await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  for (const n of differ) {
    expect(
      (joined.notices ?? []).some((m) => m.startsWith(`${n}: this folder had another version; the session's keeps the path, this folder's is kept as `)),
      `${n} named in ${JSON.stringify(joined.notices)}`,
    ).toBe(true);
  }
  expect((joined.notices ?? []).at(-1)).toBe("Those 3 copies of this folder's versions are shared with every member, as any file is: once you have compared, delete those you do not need");
  // Nothing is said of the 200 the folder had already.
  expect((joined.notices ?? []).filter((m) => m.includes('same content'))).toEqual([]);
});

// Trial s59 F4: a join with an old clone shared its untracked notes with every member, and
// nobody was told. The join names what it shared of the folder's own files; not the files the
// session had already (identical, or set aside as copies), nor those kept here (.env, ignored).
it('a join names the files of the folder it shared that the session lacked, and only those', async () => {
  const a = await startPeer(tempProject({ 'README.md': 'the session\n', 'same.txt': 'same\n', 'src/main.c': 'int main;\n' }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const b = await startPeer(
    tempProject(
      {
        'README.md': 'an older README\n', // set aside as a copy: told on its own
        'same.txt': 'same\n',
        'notes/private-todo.md': 'my own notes\n',
        'scratch.txt': 'scratch\n',
        '.env': 'SECRET=1\n', // never shared
        '.gitignore': 'build/\n',
        'build/out.o': 'object\n', // ignored
      },
      'chorus-disk-b-',
    ),
    'bob',
  );
  const joined = await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  const shared = (joined.notices ?? []).filter((m) => m.startsWith('this folder had '));
  expect(shared).toEqual([
    'this folder had 3 files the session did not, now shared with every member: .gitignore, notes/private-todo.md, scratch.txt. (Files .gitignore names, and secrets such as .env files, are never shared.) If one of these should not be shared, move it out of this folder (members then lose it too)',
  ]);
  expect((joined.notices ?? []).some((m) => m.startsWith('README.md: this folder had another version'))).toBe(true);
  // The copy is everyone's too, and said so (trial s60 F4: an old clone's stale files appeared in
  // every member's folder).
  expect((joined.notices ?? []).at(-1)).toBe("That copy of this folder's version is shared with every member, as any file is: once you have compared, delete it if you do not need it");
});

it('a join that shares more than ten of the folder\'s own files names ten and says where the rest are', async () => {
  const a = await startPeer(tempProject({ 'README.md': 'the session\n' }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const own = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`mine/f${String(i).padStart(2, '0')}.txt`, `${i}\n`]));
  const b = await startPeer(tempProject(own, 'chorus-disk-b-'), 'bob');
  const joined = await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  const shared = (joined.notices ?? []).filter((m) => m.startsWith('this folder had '));
  expect(shared).toHaveLength(1);
  expect(shared[0]).toContain('12 files the session did not, now shared with every member: mine/f00.txt, ');
  expect(shared[0]).toContain(`mine/f09.txt and 2 more (${b.daemon.project.logPath} has each)`);
  expect(shared[0]).not.toContain('mine/f10.txt');
});

it('past 50 notices the join says how many more there are, and where each is', () => {
  const many = Array.from({ length: 60 }, (_, i) => `f${i}.txt: this folder had another version; …`);
  const told = atMost(many, 0, '/p/.chorus/daemon.log');
  expect(told).toHaveLength(50);
  expect(told.slice(0, 49)).toEqual(many.slice(0, 49));
  expect(told[49]).toBe('and 11 more like these: /p/.chorus/daemon.log has each');
  expect(atMost(many.slice(0, 50), 0, 'log')).toEqual(many.slice(0, 50));
  expect(atMost(many.slice(0, 50), 2, 'log').at(-1)).toBe('and 3 more like these: log has each');
});
