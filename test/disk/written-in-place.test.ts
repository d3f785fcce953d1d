// A tool that writes a shared file in place (truncates it, then writes it in pieces: `cat > f`,
// a slow editor saving in place) was read by A's daemon in between: the empty or half-written
// file was taken in as a real edit, so every peer saw the whole text deleted (or half of it),
// then added back by the next read; a peer typing at that moment could see its typing lost or
// doubled in the merge (on the old code every run sent deletions out; one ended with four lines twice). The
// daemon now takes a file in only once it has been left alone for a moment (decision 205).
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers } from '../support/disk-peers.js';

afterEach(stopAllPeers);

/**
 * The other process: `rounds` times, reads the file (with the peer's latest typing the daemon
 * wrote), puts a line of its own on top, and writes it in place, in two halves `pause` ms apart.
 */
const WRITER = `
const fs = require('node:fs');
const [file, rounds, pause] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  for (let i = 0; i < rounds; i++) {
    const text = 'A' + i + '\\n' + fs.readFileSync(file, 'utf8');
    const half = Math.floor(text.length / 2);
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, text.slice(0, half));
    await sleep(pause);
    fs.writeSync(fd, text.slice(half));
    fs.closeSync(fd);
    await sleep(150);
  }
})();
`;

it('a file written in place on A while B types: no empty or half text goes out, and every line lands once', async () => {
  const { a, b } = await sharedPair({ 'f.txt': 'start\n' });
  await converged(a, b, 'the first sync');
  const ed = await editor(b.daemon.project.socketPath);
  expect(await ed.open('f.txt')).toBe('start\n');
  const rounds = 15;
  const writer = spawn(process.execPath, ['-e', WRITER, path.join(a.dir, 'f.txt'), String(rounds), '20'], { stdio: 'inherit' });
  let writing = true;
  writer.on('exit', () => (writing = false));
  // B types a line at the end every 40 ms, as long as A's tool writes.
  let typed = 0;
  while (writing) {
    const end = ed.text('f.txt').length;
    await ed.edit('f.txt', end, end, `b${typed++}\n`);
    await new Promise((r) => setTimeout(r, 40));
  }
  const want = [...Array(rounds).keys()].reverse().map((i) => `A${i}\n`).join('') + 'start\n' + [...Array(typed).keys()].map((i) => `b${i}\n`).join('');
  const files = await converged(a, b, 'both folders to settle');
  await ed.waitFor(() => ed.text('f.txt') === want, "B's editor to have every line");
  expect(files['f.txt']).toBe(want);
  // Nobody deleted anything: a change that deletes is an empty or half-written read taken in.
  const deleting = ed.notes.filter((n) => n.method === P.BufferDidChange.method && (n.params as P.ParamsOf<typeof P.BufferDidChange>).changes.some((c) => c.range.start.line !== c.range.end.line || c.range.start.character !== c.range.end.character));
  expect(deleting.map((n) => (n.params as P.ParamsOf<typeof P.BufferDidChange>).changes)).toEqual([]);
}, 120_000);
