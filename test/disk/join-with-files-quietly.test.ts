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
  const a = await startPeer(tempProject(Object.fromEntries(names.map((n, i) => [n, session(i)])), 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const ids = names.map((n) => a.daemon.workspace.index.idOf(n));
  const e = await editor(a.daemon.project.socketPath);
  for (const n of names) await e.open(n);
  const b = await startPeer(tempProject(Object.fromEntries(names.map((n, i) => [n, joiners(i)])), 'chorus-disk-b-'), 'bob');
  // Watch the sharer while the join runs: every path keeps the session's file and text.
  const seen: string[] = [];
  const watch = setInterval(() => {
    names.forEach((n, i) => {
      const id = a.daemon.workspace.index.idOf(n);
      if (id !== ids[i]) seen.push(`${n}: the index gave the path to ${String(id)}, not the session's ${String(ids[i])}`);
      const text = fs.readFileSync(path.join(a.dir, n), 'utf8');
      if (text !== session(i)) seen.push(`${n}: the sharer's disk held ${JSON.stringify(text)}`);
      if (e.text(n) !== session(i)) seen.push(`${n}: the sharer's buffer held ${JSON.stringify(e.text(n))}`);
    });
  }, 2);
  try {
    const joined = await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
    // Every meeting said in the join's words, with the copy it names.
    const copies = names.map((n, i) => {
      const said = (joined.notices ?? []).find((m) => m.startsWith(`${n}: this folder had another version`));
      expect(said, JSON.stringify(joined.notices)).toBeDefined();
      const copy = /kept as (.+)$/.exec(said!)![1]!;
      expect(copy).toMatch(new RegExp(`^f${i} \\(conflict \\w+\\)\\.txt$`));
      return copy;
    });
    const want = { ...Object.fromEntries(names.map((n, i) => [n, session(i)])), ...Object.fromEntries(copies.map((c, i) => [c, joiners(i)])) };
    for (const p of [a, b]) await until(() => JSON.stringify(folderFiles(p.dir)) === JSON.stringify(Object.fromEntries(Object.entries(want).sort())), `both versions of each file in ${p.dir}`);
  } finally {
    clearInterval(watch);
  }
  expect([...new Set(seen)]).toEqual([]);
  expect(e.notes.filter((n) => n.method === P.BufferDidRename.method)).toEqual([]);
  // The sharer was told of the copies the join made, and of nothing that came and went.
  const told = a.lines.filter((l) => /conflict/.test(l));
  expect(told.filter((l) => names.some((n) => l.includes(`${n} `) && /moved|renamed|deleted/.test(l))), told.join('\n')).toEqual([]);
});
