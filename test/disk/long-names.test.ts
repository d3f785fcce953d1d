// A file whose name is near the file system's limit (255 bytes) reached no other peer: the folder
// writer wrote it first to a temporary file named after it (`.<name>.chorus-<8 hex>`, 17 bytes
// longer), which the file system refused (ENAMETOOLONG), and the receiver logged the raw error and
// "will retry" on every change. The temporary name is now short and of fixed shape
// (`.chorus-<16 hex>.tmp`, folder-writer.ts), still never shared (files.ts isWriteTemp,
// ignore-rules.ts), and a name the file system refuses outright is a WriteRefused that says so.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { isWriteTemp } from '../../daemon/src/disk/files.js';
import { FolderWriter, WriteRefused } from '../../daemon/src/disk/folder-writer.js';
import { IgnoreRules } from '../../daemon/src/disk/ignore-rules.js';
import { Project } from '../../daemon/src/project.js';
import { logsOf, startDaemon } from '../support/in-process.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { tempDir, tempProject, waitForFile } from '../support/project-dir.js';
import { stopAll } from '../peers/peer-helpers.js';

/** Every name under `dir` (outside `.chorus/`) that is one of the writer's temporary files, or looks like one. */
function temps(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((n) => n !== '.chorus' && !n.startsWith(`.chorus${path.sep}`))
    .filter((n) => isWriteTemp(path.basename(n)) || n.includes('.chorus-'));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('FolderWriter: names near the limit', () => {
  const name = `${'M'.repeat(246)}.txt`; // 250 bytes: too long for the old `.<name>.chorus-<8 hex>` temporary name

  it('creates and overwrites a file whose name is 250 bytes, leaving no temporary file', async () => {
    expect(Buffer.byteLength(name)).toBe(250);
    const root = tempProject({ 'ok.txt': 'fine\n' });
    const writer = new FolderWriter(new Project(root));
    const tmpNames: string[] = [];
    const real = fs.promises.writeFile;
    vi.spyOn(fs.promises, 'writeFile').mockImplementation((file, ...rest) => {
      tmpNames.push(path.basename(String(file)));
      return real(file, ...rest);
    });

    await writer.writeFile(name, 'one\n', undefined, true); // create
    expect(fs.readFileSync(path.join(root, name), 'utf8')).toBe('one\n');
    await writer.writeFile(name, 'two\n'); // overwrite
    expect(fs.readFileSync(path.join(root, name), 'utf8')).toBe('two\n');
    await writer.writeFile(`sub/${name}`, 'three\n', true, true); // in a folder, executable
    expect(fs.readFileSync(path.join(root, 'sub', name), 'utf8')).toBe('three\n');
    expect(fs.statSync(path.join(root, 'sub', name)).mode & 0o100).toBe(0o100);

    // Each write went through a temporary file of the new fixed shape, whatever the file's name.
    expect(tmpNames).toHaveLength(3);
    for (const t of tmpNames) {
      expect(t).toMatch(/^\.chorus-[0-9a-f]{16}\.tmp$/);
      expect(isWriteTemp(t)).toBe(true);
    }
    expect(new Set(tmpNames).size).toBe(3);
    expect(temps(root)).toEqual([]);
    // The temporary files were written in `.chorus/tmp/` (decision 132), and none is left there.
    expect(fs.readdirSync(root).sort()).toEqual([name, '.chorus', 'ok.txt', 'sub'].sort());
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
  });

  it('a file system that refuses the name (ENAMETOOLONG) is a WriteRefused in words, with nothing left behind', async () => {
    const root = tempProject({ 'ok.txt': 'fine\n' });
    const writer = new FolderWriter(new Project(root));
    // The check lets 250 bytes through (the common limit is 255); a file system with a lower one
    // (eCryptfs: 143) refuses it only when written.
    vi.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error(`ENAMETOOLONG: name too long, rename '…' -> '…'`), { code: 'ENAMETOOLONG' });
    });
    vi.spyOn(fs.promises, 'link').mockRejectedValue(Object.assign(new Error('ENAMETOOLONG: name too long, link'), { code: 'ENAMETOOLONG' }));
    for (const create of [false, true]) {
      const failed = await writer.writeFile(name, 'x\n', undefined, create).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(WriteRefused);
      const message = (failed as WriteRefused).message;
      expect(message).toContain(`"${name.slice(0, 120)}…${name.slice(-60)}"`); // the start and the end: which file
      expect(message).toContain('.txt"');
      expect(message).toContain('its name is longer than this file system allows');
      expect(message).not.toMatch(/ENAMETOOLONG/);
      expect((failed as WriteRefused).path).toBe(name);
    }
    expect(temps(root)).toEqual([]);
    expect(fs.existsSync(path.join(root, name))).toBe(false);
    // Other errors stay the file system's own (a caller may try again).
    vi.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    });
    await expect(writer.writeFile('ok.txt', 'x\n')).rejects.toMatchObject({ code: 'EIO' });
  });

  it('a name over 255 bytes is refused before anything is written, in words', async () => {
    const root = tempProject({ 'ok.txt': 'fine\n' });
    const writer = new FolderWriter(new Project(root));
    const over = `${'é'.repeat(130)}.txt`; // 134 characters (the path rules' limit is 255), 264 bytes
    await expect(writer.writeFile(over, 'x\n')).rejects.toBeInstanceOf(WriteRefused);
    await expect(writer.writeFile(over, 'x\n')).rejects.toThrow(/too long for the file system/);
    expect(temps(root)).toEqual([]);
  });
});

describe('the temporary files are never shared', () => {
  const root = tempDir('chorus-temps-');
  const rules = new IgnoreRules(root);

  it('the new shape is recognised and ignored, at the root and in folders', () => {
    for (const n of ['.chorus-0123456789abcdef.tmp', '.chorus-ffffffffffffffff.tmp']) {
      expect(isWriteTemp(n), n).toBe(true);
      expect(rules.ignores(n), n).toBe(true);
      expect(rules.ignores(`a/b/${n}`), n).toBe(true);
    }
  });

  it('an old-shape leftover (from a crash of an older version) still is', () => {
    const old = `.${'M'.repeat(200)}.txt.chorus-1ba91803`;
    for (const n of ['.notes.txt.chorus-1ba91803', old]) {
      expect(isWriteTemp(n), n).toBe(true);
      expect(rules.ignores(n), n).toBe(true);
      expect(rules.ignores(`src/${n}`), n).toBe(true);
    }
  });

  it('a person’s files that merely look alike are not', () => {
    for (const n of ['.chorus-notes.tmp', '.chorus-0123456789abcdef.txt', 'chorus-0123456789abcdef.tmp', '.chorus-0123456789abcde.tmp', 'notes.chorus-1ba91803']) {
      expect(isWriteTemp(n), n).toBe(false);
      expect(rules.ignores(n), n).toBe(false);
    }
  });
});

describe('two daemons', () => {
  let daemons: Daemon[] = [];
  afterEach(async () => ([daemons] = await stopAll(daemons, [])));

  it('a live file whose name the file system refuses is logged once, not at every pause in typing', async () => {
    const root = tempProject({ 'long.txt': 'start\n' });
    const d = await startDaemon(root, 'writer');
    daemons.push(d);
    const editor = await ScriptedEditor.socket(d.project.socketPath);
    let tries = 0;
    const realRename = fs.renameSync;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (path.basename(String(to)) !== 'long.txt') return realRename(from, to);
      tries++;
      throw Object.assign(new Error('ENAMETOOLONG: name too long, rename'), { code: 'ENAMETOOLONG' });
    });
    try {
      await editor.init();
      await editor.open('long.txt');
      for (let i = 0; i < 4; i++) {
        await editor.edit('long.txt', 0, 0, `${i}`);
        const before = tries;
        const end = Date.now() + 10_000;
        while (tries === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20)); // its write-back came
      }
    } finally {
      editor.close();
    }
    expect(tries).toBeGreaterThanOrEqual(4);
    expect(logsOf(d).filter((l) => l.includes('its name is longer than this file system allows'))).toHaveLength(1);
  });

  it('a file with a 240-character name reaches the joiner, and back', async () => {
    const a = tempProject({ 'one.txt': 'one\n' });
    const b = path.join(tempDir('chorus-long-'), 'b');
    const sharer = await startDaemon(a, 'sharer');
    daemons.push(sharer);
    const code = await sharer.share({ host: '127.0.0.1', webrtc: false });
    fs.mkdirSync(b);
    const joiner = await startDaemon(b, 'joiner');
    daemons.push(joiner);
    await joiner.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
    await waitForFile(path.join(b, 'one.txt'), (t) => t === 'one\n', 'the shared file on the joiner');

    const long = `${'M'.repeat(240)}.txt`;
    fs.writeFileSync(path.join(a, long), 'l\n');
    await waitForFile(path.join(b, long), (t) => t === 'l\n', 'the long-named file on the joiner');
    fs.writeFileSync(path.join(b, long), 'l, edited\n');
    await waitForFile(path.join(a, long), (t) => t === 'l, edited\n', 'the edit of the long-named file on the sharer');
    await Promise.all([sharer.folder.settled(), joiner.folder.settled()]);
    expect(temps(a)).toEqual([]);
    expect(temps(b)).toEqual([]);
  });
});
