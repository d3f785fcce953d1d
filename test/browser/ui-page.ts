/**
 * The UI's dev page for its tests: the UI on a FakePeer (ui-dev.ts) bundled with esbuild beside
 * the real index.html and page.css, served from a temporary folder by a loopback HTTP server that
 * sends a strict Content-Security-Policy, and opened in Debian's Chromium through playwright-core.
 * Everything started here is stopped by `close`.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { repo } from '../neovim/support.js';
import { tempDir } from '../support/project-dir.js';
import { CHROMIUM, chromiumMissing } from '../support/paths.js';
import { skipReason } from '../support/skip.js';

const uiDir = path.join(repo, 'clients', 'browser', 'src', 'ui');

/** The policy the dev server sends: nothing inline, nothing from another origin. */
export const STRICT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Why the UI tests cannot run here, or undefined (printed; a failure under CHORUS_REQUIRE_ALL=1). */
export function uiSkipReason(): string | undefined {
  return skipReason('browser UI tests', chromiumMissing());
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

/** The built dev page, its server and a browser. */
export interface UiPage {
  url: string;
  browser: Browser;
  /** Bytes of the built bundle (the fake included), for a rough size check. */
  close(): Promise<void>;
}

/** Bundle the dev page into a temporary folder, serve it on loopback, launch Chromium. */
export async function startUiPage(): Promise<UiPage> {
  const dir = tempDir('chorus-ui-page-');
  await build({
    entryPoints: { page: path.join(repo, 'test', 'browser', 'ui-dev.ts') },
    bundle: true,
    format: 'esm',
    splitting: true,
    platform: 'browser',
    target: 'es2022',
    outdir: dir,
    logLevel: 'warning',
  });
  // The page's own shell (clients/browser/src/index.html), pointed at this dev bundle and its stylesheet.
  const shell = fs.readFileSync(path.join(uiDir, '..', 'index.html'), 'utf8');
  fs.copyFileSync(path.join(uiDir, '..', 'favicon.svg'), path.join(dir, 'favicon.svg'));
  fs.writeFileSync(path.join(dir, 'index.html'), shell.replace('href="main.css"', 'href="./page.css"').replace('src="main.js"', 'src="./page.js"'));
  fs.copyFileSync(path.join(uiDir, 'page.css'), path.join(dir, 'page.css'));
  // The same page as a bundler that imports page.css would emit it: the stylesheet named main.css
  // (in a folder of its own, where no page.css is to be found).
  fs.mkdirSync(path.join(dir, 'bundled'));
  fs.copyFileSync(path.join(uiDir, 'page.css'), path.join(dir, 'bundled', 'main.css'));
  fs.copyFileSync(path.join(uiDir, '..', 'favicon.svg'), path.join(dir, 'bundled', 'favicon.svg'));
  fs.writeFileSync(path.join(dir, 'bundled', 'main.html'), shell.replace('href="main.css"', 'href="./main.css"').replace('src="main.js"', 'src="../page.js"'));

  const server = http.createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, path.normalize(name));
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': STRICT_CSP, 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  } catch (e) {
    server.close();
    throw e;
  }
  return {
    url: `http://127.0.0.1:${port}/index.html`,
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
