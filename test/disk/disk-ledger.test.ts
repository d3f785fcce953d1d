import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { DiskLedger } from '../../daemon/src/disk/disk-ledger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function ledgerDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-ledger-'));
  dirs.push(d);
  return path.join(d, 'disk');
}

it('keeps what it recorded across a reopen, forgets what it was told to', () => {
  const dir = ledgerDir();
  const a = new DiskLedger(dir);
  a.record('a.txt', 'h1');
  a.record('a.txt', 'h2');
  a.record('b.txt', 'h3');
  a.forget('b.txt');
  a.close();
  const b = new DiskLedger(dir);
  expect([b.knows('a.txt', 'h1'), b.knows('a.txt', 'h2'), b.latest('a.txt'), b.paths()]).toEqual([true, true, 'h2', ['a.txt']]);
  b.close();
});

it('skips damaged records, says how many, and keeps the good ones (a torn last line is not news)', () => {
  const dir = ledgerDir();
  fs.mkdirSync(dir, { recursive: true });
  const lines = ['{"p":"a.txt","h":"h1"}', 'null', '1', '"x"', '{"p":5,"h":"h"}', '{"p":"b.txt"}', '{"p":"c.txt","forget":"yes"}', 'garbage', '{"p":"d.txt","h":"h4"}', '{"p":"e.txt","h'];
  fs.writeFileSync(path.join(dir, 'ledger.jsonl'), lines.join('\n'));
  const logs: string[] = [];
  const l = new DiskLedger(dir, (m) => logs.push(m));
  expect(l.paths().sort()).toEqual(['a.txt', 'd.txt']);
  const kept = fs.readdirSync(dir).filter((n) => n.startsWith('ledger.jsonl.damaged-'));
  expect(kept).toHaveLength(1);
  expect(fs.readFileSync(path.join(dir, kept[0]!), 'utf8')).toBe(lines.join('\n')); // as it was
  expect(logs).toEqual([
    `${path.join(dir, 'ledger.jsonl')} had 7 unreadable records, skipped: a file they described is taken in as an edit if it differs from the shared version; ` +
      `the ledger as it was is kept as ${path.join(dir, kept[0]!)} and it is rewritten from the 2 files it could read`,
  ]);
  l.record('f.txt', 'h5');
  l.close();
  // The damaged records were dropped when the log was rewritten: the next start says nothing.
  logs.length = 0;
  const again = new DiskLedger(dir, (m) => logs.push(m));
  expect([again.paths().sort(), logs]).toEqual([['a.txt', 'd.txt', 'f.txt'], []]);
  again.close();
});

it('sets aside a ledger it cannot read at all and starts a new one', () => {
  const dir = ledgerDir();
  fs.mkdirSync(path.join(dir, 'ledger.jsonl'), { recursive: true }); // a folder in its place
  const logs: string[] = [];
  const l = new DiskLedger(dir, (m) => logs.push(m));
  l.record('a.txt', 'h1');
  l.close();
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatch(/^could not read .*ledger\.jsonl \(EISDIR\); it is kept as .*ledger\.jsonl\.damaged-\S+ and a new one is started/);
  const kept = fs.readdirSync(dir).filter((n) => n.startsWith('ledger.jsonl.damaged-'));
  expect(kept).toHaveLength(1);
  expect(fs.statSync(path.join(dir, kept[0]!)).isDirectory()).toBe(true);
  const reopened = new DiskLedger(dir);
  expect(reopened.paths()).toEqual(['a.txt']);
  reopened.close();
});

it('a ledger of garbage with no newline in it is said once, kept as it was, and rewritten (it was passed over as a torn last record)', () => {
  const dir = ledgerDir();
  fs.mkdirSync(dir, { recursive: true });
  const garbage = 'PK\u0003\u0004 not a ledger at all';
  fs.writeFileSync(path.join(dir, 'ledger.jsonl'), garbage);
  const logs: string[] = [];
  const l = new DiskLedger(dir, (m) => logs.push(m));
  l.close();
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatch(/ledger\.jsonl had 1 unreadable record, skipped: .*; the ledger as it was is kept as .*ledger\.jsonl\.damaged-\S+ and it is rewritten from the 0 files it could read$/);
  const kept = fs.readdirSync(dir).filter((n) => n.startsWith('ledger.jsonl.damaged-'));
  expect(kept).toHaveLength(1);
  expect(fs.readFileSync(path.join(dir, kept[0]!), 'utf8')).toBe(garbage);
  expect(fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8')).toBe('');
  logs.length = 0;
  new DiskLedger(dir, (m) => logs.push(m)).close();
  expect(logs).toEqual([]);
  // A record cut short by a crash is still no news.
  fs.writeFileSync(path.join(dir, 'ledger.jsonl'), '{"p":"a.txt","h":"h1"}\n{"p":"b.t');
  new DiskLedger(dir, (m) => logs.push(m)).close();
  expect(logs).toEqual([]);
});

it('keeps only the newest three stale copies of the ledger, and says which it removed', () => {
  const dir = ledgerDir();
  const logs: string[] = [];
  const l = new DiskLedger(dir, (m) => logs.push(m));
  const kept: string[] = [];
  for (let i = 1; i <= 5; i++) {
    l.record(`f${i}.txt`, `h${i}`);
    kept.push(path.basename(l.setAside()));
  }
  l.close();
  const left = fs.readdirSync(dir).filter((n) => n.startsWith('ledger.jsonl.stale-')).sort();
  expect(left).toEqual(kept.slice(2).sort());
  // The newest three are the ones kept: each holds the record made just before it was set aside.
  expect(left.map((n) => fs.readFileSync(path.join(dir, n), 'utf8')).sort()).toEqual(['{"p":"f3.txt","h":"h3"}\n', '{"p":"f4.txt","h":"h4"}\n', '{"p":"f5.txt","h":"h5"}\n']);
  expect(logs).toEqual([
    `removed 1 older stale copy of ${path.join(dir, 'ledger.jsonl')} (the newest 3 are kept): ${kept[0]}`,
    `removed 1 older stale copy of ${path.join(dir, 'ledger.jsonl')} (the newest 3 are kept): ${kept[1]}`,
  ]);
});

it('records the folders the folder has, across a reopen and a rewrite, and tells which it had (decision 173)', () => {
  const dir = ledgerDir();
  const a = new DiskLedger(dir);
  for (const d of ['sub', 'sub/deeper', 'sub/other', 'empty', 'gone']) a.folderHere(d);
  a.folderGone('gone');
  a.folderGone('sub', true); // an empty folder's removal (which failed): the folders in it stay recorded
  a.folderHere('sub');
  a.folderGone('sub/other');
  a.record('files/only/f.txt', 'h1'); // a file this daemon had there: its folders were there too
  a.close();
  fs.appendFileSync(path.join(dir, 'ledger.jsonl'), 'garbage\n'); // the next open rewrites the log from memory
  const logs: string[] = [];
  const b = new DiskLedger(dir, (m) => logs.push(m));
  expect(logs).toHaveLength(1);
  b.close();
  const c = new DiskLedger(dir);
  expect(c.folders().sort()).toEqual(['empty', 'sub', 'sub/deeper']);
  expect([...c.foldersHad()].sort()).toEqual(['empty', 'files', 'files/only', 'sub', 'sub/deeper']);
  c.folderGone('sub');
  expect(c.folders()).toEqual(['empty']);
  expect(c.paths()).toEqual(['files/only/f.txt']); // folders are not files
  c.setAside();
  expect([c.folders(), [...c.foldersHad()]]).toEqual([[], []]);
  c.close();
});
