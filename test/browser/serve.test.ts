// Issue 17: the daemon (and `chorus relay`) serves the browser page on its peer port with a strict
// Content-Security-Policy and nothing but the page's own files; `chorus share` prints the link;
// the page joins with the fragment's code, and a wrong secret reads nothing and says so.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { editedCode } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { browserSkipReason, openFile, pageStatus, Scene, until } from './support.js';

const skip = browserSkipReason();

describe.skipIf(skip)('the browser page, served by the peers (issue 17)', () => {
  const scene = new Scene();
  afterAll(() => scene.close());
  afterEach(() => scene.cleanup());

  it('chorus share prints a link to the page; the daemon serves it with a strict policy, and only it', async () => {
    const { url, code } = scene.share({ 'a.txt': 'hello\n' });
    expect(url).toBe(`${new URL(url).origin}/#${code}`);
    const origin = new URL(url).origin;
    const index = await fetch(`${origin}/`);
    expect(index.status).toBe(200);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    expect(html).not.toMatch(/<script>(?!<)/); // no inline script
    expect(html).toContain('content="daemon"');
    expect((await fetch(`${origin}/main.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${origin}/automerge.wasm`)).headers.get('content-type')).toBe('application/wasm');
    for (const p of ['/../a.txt', '/a.txt', '/.chorus/session.json', '/%2e%2e/%2e%2e/etc/passwd', '/node_modules/x']) {
      expect((await fetch(`${origin}${p}`)).status, p).toBe(404);
    }
    expect((await fetch(`${origin}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('a page opens the link, completes the handshake with the daemon and loads nothing from elsewhere', async () => {
    const { url } = scene.share({ 'a.txt': 'hello\n' });
    const page = await scene.open(url);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const status = await until('the page to be online', async () => {
      const s = await pageStatus(page);
      return s.state === 'online' && s.peers >= 1 ? s : undefined;
    });
    expect(status.readOnly).toBe(false);
    await openFile(page, 'a.txt'); // the editor, its styles and a language chunk load too
    const origin = new URL(url).origin;
    expect(requests.filter((r) => !r.startsWith(origin) && !r.startsWith(origin.replace('http', 'ws')))).toEqual([]);
    expect(scene.logs.get(page)!.violations, scene.logs.get(page)!.lines.join('\n')).toEqual([]);
  });

  it('a wrong secret in the fragment reads nothing and says so', async () => {
    const { url, code } = scene.share({ 'secret.txt': 'not for strangers\n' });
    const wrong = editedCode(code, (b) => {
      b.k = Buffer.alloc(32, 7).toString('base64url');
    });
    const page = await scene.open(`${new URL(url).origin}/#${wrong}`);
    const status = await until('the page to give up', async () => {
      const s = await pageStatus(page);
      return s.state === 'refused' ? s : undefined;
    });
    expect(status.message).toMatch(/Could not join: the session refused this link/);
    expect(status.message).toMatch(/Nothing was read/);
    await until('the page to show it', async () => (await page.getByTestId('banner').textContent())?.includes('Could not join'));
    expect(await page.getByTestId('file:secret.txt').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { chorusPeer: { files(): unknown[] } }).chorusPeer.files())).toEqual([]);
  });

  it('a link without a code says what to do', async () => {
    const { url } = scene.share({});
    const page = await scene.open(new URL(url).origin + '/');
    await until('the page to say so', async () => (await page.getByRole('alert').textContent())?.includes('no join code'));
  });

  it('chorus relay serves the same page', async () => {
    const relay = spawn(process.execPath, [CLI, 'relay', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      relay.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const relayUrl = await until('the relay to listen', async () => /listening on (ws:\/\/\S+);/.exec(err)?.[1]);
      const res = await fetch(relayUrl.replace('ws://', 'http://') + '/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await res.text()).toContain('content="relay"');
    } finally {
      relay.kill();
    }
  });
});
