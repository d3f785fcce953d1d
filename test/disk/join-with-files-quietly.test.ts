// A join into a folder that has other versions of the session's files (trial s46b's A). The end
// state was right (decision 137: the session's version keeps the path, the joining folder's is kept
// as a conflict copy), but on the way the joining folder's version took the path on every peer
// for up to 5–10 s whenever its file id was the larger one (`resolve`'s tie-break): the sharer's
// disk and open buffers showed the joiner's text at the path, the sharer's buffer was renamed to
// the conflict copy and back, and notices named copies that were gone seconds later. Nothing of
// the join may show on the sharer's side but the joining folder's copies, beside the files.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { editor, folderFiles, startPeer, stopAllPeers, until } from '../support/disk-peers.js';
import { tempProject } from '../support/project-dir.js';

afterEach(stopAllPeers);

/** Enough files that their ids fall the unlucky way for at least one of them (each: 1 in 2). */
const N = 8;
const names = Array.from({ length: N }, (_, i) => `f${i}.txt`);
const session = (i: number) => `the session's text of file ${i}\n`;
const joiners = (i: number) => `the joining folder's own text of file ${i}\n`;

it("joining with other versions of the session's files never shows the joining folder's versions at the session's paths on the sharer", async () => {
  // And a file where the joining folder has a folder (decision 147: the folder is set aside whole),
  // and a folder where the joining folder has a file.
  const a = await startPeer(tempProject({ ...Object.fromEntries(names.map((n, i) => [n, session(i)])), notes: 'the session has a file here\n', 'lib/x.ts': 'the session has a folder here\n', 'same.txt': 'both had this\n' }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const ids = names.map((n) => a.daemon.workspace.index.idOf(n));
  const e = await editor(a.daemon.project.socketPath);
  // Open files are live documents, whose entries name the content they had when opened.
  for (const n of [...names, 'same.txt']) await e.open(n);
  const b = await startPeer(tempProject({ ...Object.fromEntries(names.map((n, i) => [n, joiners(i)])), 'notes/n1.md': 'a note\n', lib: 'the joining folder has a file here\n', 'same.txt': 'both had this\n' }, 'chorus-disk-b-'), 'bob');
  // Watch the sharer while the join runs: every path keeps the session's file and text.
  const seen: string[] = [];
  const watch = setInterval(() => {
    names.forEach((n, i) => {
      const id = a.daemon.workspace.index.idOf(n);
      if (id !== ids[i]) seen.push(`${n}: the index gave the path to ${String(id)}, not the session's ${String(ids[i])}`);
      const text = fs.readFileSync(path.join(a.dir, n), 'utf8');
      if (text !== session(i)) seen.push(`${n}: the sharer's disk held ${JSON.stringify(text)}`);
      if (e.text(n) !== session(i)) seen.push(`${n}: the sharer's buffer held ${JSON.stringify(e.text(n))}`);
      // The joiner settles each meeting the join's way from the start: the session's file is
      // never the copy there either (it was whenever its id was the larger, until the join's end).
      const there = b.daemon.workspace.index.entry(ids[i]!)?.path;
      if (there !== undefined && there !== n) seen.push(`${n}: the joiner had the session's file at ${there}`);
    });
  }, 2);
  try {
    const joined = await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
    // The joiner's own settling is on its disk when the join returns: the copy its first look
    // made of the file both had went (a trial: such copies were still there 6 s after).
    expect(Object.keys(folderFiles(b.dir)).filter((f) => f.startsWith('same (conflict'))).toEqual([]);
    // Removing that copy was this join's own doing: no peer deleted anything (a trial was told one had).
    expect(b.lines.filter((l) => / deleted (a file|\d+ files) that (was|were) in this folder/.test(l))).toEqual([]);
    // Every meeting said in the join's words, with the copy it names.
    const copies = names.map((n, i) => {
      const said = (joined.notices ?? []).find((m) => m.startsWith(`${n}: this folder had another version`));
      expect(said, JSON.stringify(joined.notices)).toBeDefined();
      const copy = /kept as (.+)$/.exec(said!)![1]!;
      expect(copy).toMatch(new RegExp(`^f${i} \\(conflict \\w+\\)\\.txt$`));
      return copy;
    });
    const aside = (joined.notices ?? []).map((m) => /^notes: .*this folder's folder \(all its files\) is kept as (.+)$/.exec(m)?.[1]).find((m) => m !== undefined);
    expect(aside, JSON.stringify(joined.notices)).toMatch(/^notes \(conflict \w+\)$/);
    // Said as what it was, a join meeting the session's folder (a trial: "was made a file on one
    // peer and a folder on another at once", in the join's words and its log, 7 of 7).
    const libCopy = (joined.notices ?? []).map((m) => /^lib: this folder had a file there, the session a folder; the session's folder keeps the path \(with its files\), this folder's file is kept as (.+)$/.exec(m)?.[1]).find((m) => m !== undefined);
    expect(libCopy, JSON.stringify(joined.notices)).toMatch(/^lib \(conflict \w+\)$/);
    expect(b.lines.filter((l) => l.includes('at once') && l.includes('lib'))).toEqual([]);
    const want = {
      ...Object.fromEntries(names.map((n, i) => [n, session(i)])),
      ...Object.fromEntries(copies.map((c, i) => [c, joiners(i)])),
      notes: 'the session has a file here\n',
      'same.txt': 'both had this\n',
      [`${aside!}/n1.md`]: 'a note\n',
      'lib/x.ts': 'the session has a folder here\n',
      [libCopy!]: 'the joining folder has a file here\n',
    };
    const same = (x: Record<string, string>) => JSON.stringify(Object.entries(x).sort(([k], [l]) => (k < l ? -1 : 1))) === JSON.stringify(Object.entries(want).sort(([k], [l]) => (k < l ? -1 : 1)));
    for (const p of [a, b]) await until(() => same(folderFiles(p.dir)), `both versions of each file in ${p.dir}`).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(folderFiles(p.dir))}`); });
    // The sharer is told of each copy that arrived beside its file (a trial: nothing was said
    // there): the log names each, and its editor gets one warning for the burst (decision 224).
    for (const [copy, of] of [...copies.map((c, i) => [c, names[i]!]), [aside!, 'notes']]) {
      await until(() => a.lines.some((l) => l.includes(`${copy} arrived from a peer: another version of ${of}, kept beside it`)), `the sharer's log to name ${copy}`);
    }
    await e.waitFor(() => e.notes.some((n) => n.method === P.SessionNotice.method && n.params.type === 'warning' && n.params.message.startsWith(`${N + 2} files were made or changed on two peers at once`)), 'the warning of the copies in the sharer\'s editor');
  } finally {
    clearInterval(watch);
  }
  expect([...new Set(seen)]).toEqual([]);
  expect(e.notes.filter((n) => n.method === P.BufferDidRename.method)).toEqual([]);
  // The sharer was told of the copies the join made, and of nothing that came and went.
  const told = a.lines.filter((l) => /conflict/.test(l));
  expect(told.filter((l) => names.some((n) => l.includes(`${n} `) && /moved|renamed|deleted/.test(l))), told.join('\n')).toEqual([]);
  // A later member joining learns of those copies as the session's history, not as news: its
  // join and its log say nothing of them (a trial: each later joiner listed every earlier one's).
  const c = await startPeer(tempProject({}, 'chorus-disk-c-'), 'carol');
  const later = await c.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  expect(later.notices ?? []).toEqual([]);
  expect(c.lines.filter((l) => l.includes('arrived from a peer'))).toEqual([]);
});
