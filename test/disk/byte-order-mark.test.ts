/**
 * A text file that starts with a UTF-8 byte order mark keeps it on every peer. As live text the
 * mark was dropped when the file was read (TextDecoder's default), and the first edit in an
 * editor wrote the file back without it on every peer (a user trial: `git diff` showed every
 * line changed, no word said). Such a file is shared whole now, like a binary one: an editor is
 * told it edits it as a local file, and each save reaches the peers byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { decodeText, hasByteOrderMark } from '../../daemon/src/text/decode-text.js';
import { editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

it('a file with a byte order mark is shared whole: every peer keeps the mark, and an editor is told it edits a local file', async () => {
  const { a, b } = await sharedPair({ 'plain.txt': 'x\n' });
  fs.writeFileSync(path.join(a.dir, 'bom.txt'), Buffer.concat([BOM, Buffer.from('one\ntwo\n')]));
  const onB = path.join(b.dir, 'bom.txt');
  await until(() => fs.existsSync(onB) && fs.readFileSync(onB).equals(Buffer.concat([BOM, Buffer.from('one\ntwo\n')])), "bom.txt with its mark in B's folder");
  const ed = await editor(b.daemon.project.socketPath);
  await expect(ed.open('bom.txt')).rejects.toThrow(/byte order mark[^]*edit it as a local file; each save is shared/);
  // The person saves a change from their editor, mark and all: it reaches A byte for byte.
  fs.writeFileSync(onB, Buffer.concat([BOM, Buffer.from('one\ntwo\nthree\n')]));
  const onA = path.join(a.dir, 'bom.txt');
  await until(() => fs.readFileSync(onA).equals(Buffer.concat([BOM, Buffer.from('one\ntwo\nthree\n')])), "B's save, mark and all, in A's folder");
}, 120_000);

it('decodeText takes a file with a byte order mark as not live text, and only such a file', () => {
  expect(hasByteOrderMark(Buffer.concat([BOM, Buffer.from('a')]))).toBe(true);
  expect(decodeText(Buffer.concat([BOM, Buffer.from('a')]))).toBeNull();
  expect(decodeText(Buffer.from('a\uFEFFb'))).toBe('a\uFEFFb'); // inside the text it is a character
  expect(decodeText(Buffer.from([0xef, 0xbb]))).toBeNull(); // half a mark: not UTF-8 at all
  expect(decodeText(Buffer.from('plain'))).toBe('plain');
});
