/**
 * The browser page (issue 17, clients/browser): served over plain HTTP on the port a daemon
 * already listens on for peers (and by `chorus relay`), so a join link `http://HOST:PORT/#code`
 * opens a full Chorus peer in a tab. The secret stays in the fragment, which browsers never send.
 *
 * What is served is the built page's own files and nothing else: the list is read once from the
 * page folder (built by `npm run build` into daemon/dist/page/), every other path is a 404, and
 * every response carries a strict Content-Security-Policy — scripts, styles and the WebAssembly
 * module from this origin only, no inline script, no eval except WebAssembly compilation
 * ('wasm-unsafe-eval', which Automerge needs), no frames, forms or plugins. Connections may go to
 * any ws:/wss: address because the page dials the session's other peers and relay from the code.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Who serves the page: the page dials a daemon directly and a relay through the relay protocol. */
export type PageHost = 'daemon' | 'relay';

/** The policy every response carries (the page's scripts, styles and wasm come from here only). */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Where the built page lives: next to the daemon's compiled modules, or (running from src/) in dist. */
export function defaultPageDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '..', 'page'), path.resolve(here, '..', '..', 'dist', 'page')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

interface PageFile {
  body: Buffer;
  /** The body gzipped (made on first request), or null when that is not smaller. */
  gzip?: Buffer | null;
  type: string;
}

/**
 * Answers HTTP requests with the page's files. The files are read (and gzipped) once, at the
 * first request that finds the page built, and never again: they do not change while a daemon runs, so no request path ever
 * reaches the file system. Not at start: the page is ~4.5 MB (Automerge's wasm, the editor's
 * chunks) that most sessions never serve, and every sharing daemon would hold it (~4 % of its
 * memory after a join) and read it as it starts.
 */
export class PageServer {
  readonly #dir: string;
  readonly #host: PageHost;
  #files: Map<string, PageFile> | undefined;
  #missing: string | undefined;

  constructor(opts: { host: PageHost; dir?: string }) {
    this.#dir = opts.dir ?? defaultPageDir();
    this.#host = opts.host;
  }

  /** The page's files by URL path, read from the page folder the first time (then kept). */
  #load(): Map<string, PageFile> {
    if (this.#files) return this.#files;
    const dir = this.#dir;
    const files = new Map<string, PageFile>();
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => fs.statSync(path.join(dir, n)).isFile());
    } catch {
      names = [];
    }
    for (const name of names) {
      const type = TYPES[path.extname(name)];
      if (!type) continue;
      let body = fs.readFileSync(path.join(dir, name));
      // The page learns who served it from a meta tag (no inline script under the policy).
      if (name === 'index.html') body = Buffer.from(body.toString('utf8').replace('%CHORUS_PAGE_HOST%', this.#host));
      files.set('/' + name.split(path.sep).join('/'), { body, type });
    }
    this.#missing = files.has('/index.html') ? undefined : `the browser page is not built (${dir} has no index.html); run npm run build`;
    // Not built yet: looked for again at the next request (a build may come while the daemon runs).
    if (!this.#missing) this.#files = files;
    return files;
  }

  /** Request handler for an http.Server (WebSocket upgrades never reach it). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const headers: Record<string, string> = {
      'Content-Security-Policy': PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
      'Cache-Control': 'no-cache',
    };
    const reply = (status: number, type: string, body: Buffer | string, encoding?: string): void => {
      res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...(encoding ? { 'Content-Encoding': encoding } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      headers.Allow = 'GET, HEAD';
      reply(405, 'text/plain; charset=utf-8', 'only GET and HEAD are served here\n');
      return;
    }
    const files = this.#load();
    if (this.#missing) {
      reply(503, 'text/plain; charset=utf-8', `${this.#missing}\n`);
      return;
    }
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://page').pathname;
    } catch {
      reply(400, 'text/plain; charset=utf-8', 'bad request path\n');
      return;
    }
    const file = files.get(pathname === '/' ? '/index.html' : pathname);
    if (!file) {
      reply(404, 'text/plain; charset=utf-8', 'not found: this server serves the Chorus page and nothing else\n');
      return;
    }
    headers.Vary = 'Accept-Encoding';
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && file.body.length > 1024) {
      // Scripts and the wasm shrink to about a third; made once, when first asked for.
      if (file.gzip === undefined) {
        const packed = gzipSync(file.body);
        file.gzip = packed.length < file.body.length ? packed : null;
      }
      if (file.gzip) {
        reply(200, file.type, file.gzip, 'gzip');
        return;
      }
    }
    reply(200, file.type, file.body);
  }
}
