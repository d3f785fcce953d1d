// The page server reads the browser page's files at the first request, not as a daemon starts
// (most sessions never serve the page, and every sharing daemon held its ~4.5 MB), and once only.
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PageServer } from '../../daemon/src/net/page-server.js';
import { tempDir } from '../support/project-dir.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** One GET of `url` through `page.handle`: the status and the body as text. */
function get(page: PageServer, url: string): { status: number; body: string } {
  let status = 0;
  let body = '';
  const req = { method: 'GET', url, headers: {} } as unknown as IncomingMessage;
  const res = {
    writeHead: (s: number) => {
      status = s;
      return res;
    },
    end: (b?: Buffer | string) => {
      body = b === undefined ? '' : b.toString();
    },
  } as unknown as ServerResponse;
  page.handle(req, res);
  return { status, body };
}

it('reads the page at the first request that finds it built, and not again', () => {
  const dir = tempDir('chorus-page-');
  dirs.push(dir);
  const page = new PageServer({ host: 'relay', dir });
  // Made after the server: nothing was read when it was made.
  const notBuilt = get(page, '/');
  expect(notBuilt.status).toBe(503);
  expect(notBuilt.body).toMatch(/the browser page is not built .*; run npm run build/);
  fs.writeFileSync(path.join(dir, 'index.html'), '<meta name="chorus-host" content="%CHORUS_PAGE_HOST%">');
  fs.mkdirSync(path.join(dir, 'chunks'));
  fs.writeFileSync(path.join(dir, 'chunks', 'a.js'), 'export const a = 1;\n');
  expect(get(page, '/')).toEqual({ status: 200, body: '<meta name="chorus-host" content="relay">' });
  expect(get(page, '/chunks/a.js')).toEqual({ status: 200, body: 'export const a = 1;\n' });
  // Read once: what changes in the folder after is not served, and no request reaches it.
  fs.writeFileSync(path.join(dir, 'chunks', 'a.js'), 'changed\n');
  fs.writeFileSync(path.join(dir, 'chunks', 'b.js'), 'new\n');
  expect(get(page, '/chunks/a.js').body).toBe('export const a = 1;\n');
  expect(get(page, '/chunks/b.js').status).toBe(404);
});
