// Decision 090/082: the page's IndexedDB store passes the one store acceptance suite, run inside
// Chromium (clients/browser/test/store-acceptance-page.ts, bundled with esbuild as the page is).
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/project-dir.js';
import { skipReason } from '../support/skip.js';
import { CHROMIUM, chromiumMissing, REPO } from '../support/paths.js';

const skip = skipReason('IndexedDB store acceptance in Chromium', chromiumMissing());

describe.skipIf(skip)('the IndexedDB store in a browser (decision 090, 082)', () => {
  it('passes the store acceptance suite', async () => {
    const dir = tempDir('chorus-idb-acceptance-');
    const require = createRequire(path.join(REPO, 'clients', 'browser', 'package.json'));
    let server: http.Server | undefined;
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    try {
      await build({
        absWorkingDir: path.join(REPO, 'clients', 'browser'),
        entryPoints: { suite: 'test/store-acceptance-page.ts' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        alias: { '@automerge/automerge/next': '@automerge/automerge/slim/next' },
        outdir: dir,
        logLevel: 'warning',
      });
      fs.copyFileSync(require.resolve('@automerge/automerge/automerge.wasm'), path.join(dir, 'automerge.wasm'));
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="suite.js"></script>');
      const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
      server = http.createServer((req, res) => {
        const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname) || 'index.html';
        const file = path.join(dir, name);
        if (!fs.existsSync(file)) return void res.writeHead(404).end();
        res.writeHead(200, { 'Content-Type': types[path.extname(name)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => (globalThis as unknown as { acceptance?: unknown }).acceptance !== undefined, undefined, { timeout: 300_000 });
      const results = await page.evaluate(() => (globalThis as unknown as { acceptance: Array<{ name: string; ok: boolean; error?: string }> }).acceptance);
      expect(errors).toEqual([]);
      expect(results.length).toBeGreaterThan(10);
      const failed = results.filter((r) => !r.ok).map((r) => `${r.name}\n  ${r.error}`);
      expect(failed, failed.join('\n')).toEqual([]);
    } finally {
      await browser.close();
      server?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
