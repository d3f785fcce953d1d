import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { DiskLedger, MAX_HEADS } from '../../daemon/src/disk/disk-ledger.js';

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

/** A made-up Automerge change hash (32 bytes in hex). */
const head = (n: number) => n.toString(16).padStart(64, '0');

it("keeps the document heads recorded with each content across a reopen and a rewrite, and loads a ledger from before heads were kept (decision 200)", () => {
  const dir = ledgerDir();
  fs.mkdirSync(dir, { recursive: true });
  // Lines as a daemon before heads wrote them, then lines with heads, then one of each for another file.
  const old = ['{"p":"a.txt","h":"h1"}', '{"p":"a.txt","h":"h2"}'];
  const now = [JSON.stringify({ p: 'a.txt', h: 'h3', at: [head(3)] }), JSON.stringify({ p: 'b.txt', h: 'h4', at: [head(4), head(5)] }), '{"p":"b.txt","h":"h5"}'];
  fs.writeFileSync(path.join(dir, 'ledger.jsonl'), [...old, ...now].join('\n') + '\n');
  const logs: string[] = [];
  const l = new DiskLedger(dir, (m) => logs.push(m));
  expect(logs).toEqual([]); // nothing unreadable
  expect([l.latest('a.txt'), l.knows('a.txt', 'h1'), l.headsOf('a.txt', 'h1'), l.headsOf('a.txt', 'h3')]).toEqual(['h3', true, undefined, [head(3)]]);
  expect([l.latest('b.txt'), l.headsOf('b.txt', 'h4'), l.headsOf('b.txt', 'h5'), l.headsOf('c.txt', 'h5')]).toEqual(['h5', [head(4), head(5)], undefined, undefined]);
  // Recording the newest content again with heads adds them (a take-in whose text is the document's); without, changes nothing.
  const size = fs.statSync(path.join(dir, 'ledger.jsonl')).size;
  l.record('b.txt', 'h5');
  expect(fs.statSync(path.join(dir, 'ledger.jsonl')).size).toBe(size);
  l.record('b.txt', 'h5', [head(6)]);
  l.record('b.txt', 'h5', [head(7)]); // it has heads already: the same text, nothing more to keep
  expect(l.headsOf('b.txt', 'h5')).toEqual([head(6)]);
  // Heads that are not change hashes, or more than a record keeps, are not kept; the content is.
  l.record('c.txt', 'h8', ['not a hash']);
  l.record('d.txt', 'h9', Array.from({ length: MAX_HEADS + 1 }, (_, i) => head(i + 1)));
  expect([l.latest('c.txt'), l.headsOf('c.txt', 'h8'), l.latest('d.txt'), l.headsOf('d.txt', 'h9')]).toEqual(['h8', undefined, 'h9', undefined]);
  l.close();
  const reopened = new DiskLedger(dir);
  expect([reopened.headsOf('a.txt', 'h3'), reopened.headsOf('b.txt', 'h5'), reopened.knows('a.txt', 'h1')]).toEqual([[head(3)], [head(6)], true]);
  reopened.close();
  // A rewrite from memory (here: a damaged line appended) keeps the heads.
  fs.appendFileSync(path.join(dir, 'ledger.jsonl'), 'garbage\n');
  new DiskLedger(dir).close();
  const rewritten = fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8');
  expect(rewritten).toContain(JSON.stringify({ p: 'a.txt', h: 'h1' }));
  expect(rewritten).toContain(JSON.stringify({ p: 'a.txt', h: 'h3', at: [head(3)] }));
  const again = new DiskLedger(dir);
  expect([again.headsOf('a.txt', 'h3'), again.headsOf('b.txt', 'h4'), again.headsOf('b.txt', 'h5')]).toEqual([[head(3)], [head(4), head(5)], [head(6)]]);
  again.close();
});

it('a record whose heads are damaged is unreadable like any damaged record: skipped, counted, the ledger kept and rewritten', () => {
  const dir = ledgerDir();
  fs.mkdirSync(dir, { recursive: true });
  const lines = ['{"p":"a.txt","h":"h1","at":[]}', '{"p":"a.txt","h":"h2","at":"abc"}', '{"p":"a.txt","h":"h3","at":[5]}', JSON.stringify({ p: 'b.txt', h: 'h4', at: [head(1)] })];
  fs.writeFileSync(path.join(dir, 'ledger.jsonl'), lines.join('\n') + '\n');
  const logs: string[] = [];
  const l = new DiskLedger(dir, (m) => logs.push(m));
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatch(/had 3 unreadable records, skipped/);
  expect([l.paths(), l.headsOf('b.txt', 'h4')]).toEqual([['b.txt'], [head(1)]]);
  l.close();
});

it("keeps heads with a file's newest few contents only, so a file's entry stays small however often it is written", () => {
  const dir = ledgerDir();
  const l = new DiskLedger(dir);
  for (let i = 1; i <= 40; i++) l.record('a.txt', `h${i}`, [head(i)]);
  const withHeads = Array.from({ length: 40 }, (_, i) => `h${i + 1}`).filter((h) => l.headsOf('a.txt', h) !== undefined);
  expect(withHeads).toEqual(['h37', 'h38', 'h39', 'h40']);
  expect([l.knows('a.txt', 'h8'), l.knows('a.txt', 'h9'), l.headsOf('a.txt', 'h40')]).toEqual([false, true, [head(40)]]);
  l.close();
  // The log has every line as written; read again, the same bound holds.
  const reopened = new DiskLedger(dir);
  expect(Array.from({ length: 40 }, (_, i) => `h${i + 1}`).filter((h) => reopened.headsOf('a.txt', h) !== undefined)).toEqual(['h37', 'h38', 'h39', 'h40']);
  reopened.close();
});

it('finds the heads of a content recorded again without them (a failed write put back): any record of it with heads names that text', () => {
  const dir = ledgerDir();
  const l = new DiskLedger(dir);
  l.record('a.txt', 'h1', [head(1)]);
  l.record('a.txt', 'h2', [head(2)]); // a write that then failed:
  l.record('a.txt', 'h1'); // the folder still holds h1
  expect([l.latest('a.txt'), l.headsOf('a.txt', 'h1')]).toEqual(['h1', [head(1)]]);
  l.close();
});

it("names the content before the newest as a crash's leftover only when the last run did not stop cleanly", () => {
  const dir = ledgerDir();
  const a = new DiskLedger(dir);
  a.record('a.txt', 'h1');
  a.record('a.txt', 'h2'); // recorded before its write: killed here, the folder holds h1
  a.record('one.txt', 'h9');
  a.close(); // as a crash leaves it: no clean stop
  const crashed = new DiskLedger(dir);
  expect([crashed.crashLeftover('a.txt'), crashed.crashLeftover('one.txt'), crashed.crashLeftover('none.txt')]).toEqual(['h1', undefined, undefined]);
  crashed.close(true); // a clean stop: every write landed
  const clean = new DiskLedger(dir);
  expect(clean.crashLeftover('a.txt')).toBeUndefined();
  clean.close(); // the mark went at the start above: this run's crash is a crash again
  expect(new DiskLedger(dir).crashLeftover('a.txt')).toBe('h1');
});
