// Builds the browser page (issue 17) into daemon/dist/page/, where the daemon and `chorus relay`
// serve it from (daemon/src/net/page-server.ts) and the npm package ships it (decision 027).
// The page bundles the daemon's own core modules (decision 065) with esbuild; Automerge's
// WebAssembly is served as a file and instantiated by main.ts (its "slim" build).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', '..', 'daemon', 'dist', 'page');
const require = (await import('node:module')).createRequire(import.meta.url);

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const result = await build({
  absWorkingDir: here,
  entryPoints: { main: 'src/main.ts' },
  bundle: true,
  platform: 'browser',
  format: 'esm',
  // Languages load when a file of theirs is opened (CodeMirror's language-data imports them).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  target: 'es2022',
  minify: process.env.CHORUS_PAGE_DEBUG !== '1',
  sourcemap: process.env.CHORUS_PAGE_DEBUG === '1' ? 'inline' : false,
  legalComments: 'linked',
  // The core imports Automerge's full build, which embeds its wasm for Node; the page loads the
  // slim build and gives it the wasm file (one copy, compiled while streaming).
  alias: { '@automerge/automerge/next': '@automerge/automerge/slim/next' },
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'favicon.svg']) fs.copyFileSync(path.join(here, 'src', f), path.join(out, f));
fs.copyFileSync(require.resolve('@automerge/automerge/automerge.wasm'), path.join(out, 'automerge.wasm'));
if (process.env.CHORUS_PAGE_META) fs.writeFileSync(process.env.CHORUS_PAGE_META, JSON.stringify(result.metafile));
const files = fs.readdirSync(out).filter((f) => f !== 'chunks').map((f) => `${f} ${(fs.statSync(path.join(out, f)).size / 1024).toFixed(0)} KiB`);
files.push(`chunks/ ${fs.readdirSync(path.join(out, 'chunks')).length} files`);
console.log(`browser page built into ${path.relative(process.cwd(), out)}: ${files.join(', ')}`);
