/**
 * The ERT tests of clients/emacs (clients/emacs/test/chorus-tests.el), each in its own real
 * `emacs --batch` against real daemons, and the byte-compile check: chorus.el compiles with
 * warnings as errors. The tests that never stop, kill or restart their daemon share one project
 * and its daemon, started here (CHORUS_TEST_SHARED_PROJECT), each in a folder of its own named
 * after it; the others start their own (see the Commentary of chorus-tests.el).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientDir, emacsBatch, emacsEnv, emacsSkipReason, ertFile } from './support.js';
import { tempDir } from '../support/project-dir.js';
import { Scene } from '../neovim/support.js';

const skip = emacsSkipReason();

/** The names of the ERT tests, in file order (chorus-tests-defcase defines tests too). */
const names = [...fs.readFileSync(ertFile, 'utf8').matchAll(/^\((?:ert-deftest|chorus-tests-defcase) (\S+)/gm)].map((m) => m[1]!);

/** Run one ERT test in a fresh batch Emacs, with `shared` as its shared project; its exit code and output. */
function runErt(name: string, shared: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('emacs', [...emacsBatch(), '-L', clientDir, '-l', ertFile, '--eval', `(ert-run-tests-batch-and-exit "^${name}$")`], {
      env: { ...emacsEnv(), HOME: tempDir('chorus-ert-home-'), CHORUS_TEST_SHARED_PROJECT: shared },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 150_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe.skipIf(skip)('Emacs client: ERT against the daemon', () => {
  // The shared project (its daemon calls itself Ada, as each test's own project does), kept
  // running by a protocol client until the file is done.
  const scene = new Scene();
  let shared = '';
  beforeAll(async () => {
    shared = scene.project({}, 'Ada');
    await scene.client(shared);
  }, 60_000);
  afterAll(async () => {
    await scene.cleanup();
  }, 60_000);

  it('finds the ERT tests', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
  });

  it.each(names)('%s', async (name) => {
    const { code, out } = await runErt(name, shared);
    if (code !== 0) console.log(out.slice(-6000));
    expect(out).toMatch(new RegExp(`passed\\s+1/1\\s+${name}\\b`));
    expect(code).toBe(0);
  }, 160_000);
});

describe.skipIf(skip)('Emacs client: byte-compile and manual', () => {
  it('formats chorus.texi into an Info manual', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-info-'));
    try {
      fs.copyFileSync(path.join(clientDir, 'chorus.texi'), path.join(dir, 'chorus.texi'));
      const r = spawnSync('emacs', ['--batch', '-Q', '--eval', '(progn (find-file "chorus.texi") (texinfo-format-buffer t) (save-buffer))'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(0);
      const info = fs.readFileSync(path.join(dir, 'chorus.info'), 'utf8');
      for (const node of ['Installation', 'Commands', 'Options', 'Behaviour']) expect(info).toContain(`Node: ${node}`);
      expect(info).toContain('chorus-undo');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('byte-compiles chorus.el and chorus-protocol.el with warnings as errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-elc-'));
    try {
      for (const f of ['chorus.el', 'chorus-protocol.el']) fs.copyFileSync(path.join(clientDir, f), path.join(dir, f));
      const r = spawnSync('emacs', ['--batch', '-Q', '-L', dir, '--eval', '(setq byte-compile-error-on-warn t)', '-f', 'batch-byte-compile', 'chorus-protocol.el', 'chorus.el'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(r.stderr).not.toMatch(/Warning|Error/);
      expect(r.status).toBe(0);
      expect(fs.existsSync(path.join(dir, 'chorus.elc'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
