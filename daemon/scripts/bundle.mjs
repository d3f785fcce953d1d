// Part of `npm run build -w chorus`, after `tsc`: bundles the `chorus` command and the daemon
// from src/ into dist/cli.js plus the lazily loaded parts in dist/chunks/, so that starting
// either reads a few files instead of Node resolving, opening and compiling ~220 of them
// (docs/decisions/150-bundled-cli.md). tsc's per-module output stays in dist/ beside it for the
// demo and the benchmarks; the `chorus` command and the daemon run only the bundle.
//
// `node scripts/bundle.mjs [outdir]`: outdir (default dist/) is for trying the build elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.resolve(root, process.argv[2] ?? 'dist');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// Loaded from their own packages at run time, so they stay npm dependencies of the package:
// - node-datachannel: a native addon (its .node file is found relative to its own package).
// - @automerge/automerge: its Node entry is CommonJS that reads automerge_wasm_bg.wasm from
//   its own __dirname, and memory-report.ts reaches that very WebAssembly instance through
//   Node's CommonJS cache by the package's path; bundled, the wasm would have to travel beside
//   the bundle and the memory report would load a second instance.
const EXTERNAL = ['node-datachannel', '@automerge/automerge'];
for (const name of EXTERNAL) {
  if (!pkg.dependencies?.[name]) throw new Error(`${name} stays external to the bundle, so it must be in daemon/package.json's dependencies`);
}

const CHUNKS = 'chunks';
// Last build's chunks are stale (their names carry a hash of their content).
fs.rmSync(path.join(outdir, CHUNKS), { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts' },
  outdir,
  bundle: true,
  // The CLI's dynamic imports (commands, the daemon, the language server, the relay, libsodium)
  // stay lazy: each is a chunk loaded on use, so `chorus --help` does not load the daemon.
  splitting: true,
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: EXTERNAL.flatMap((name) => [name, `${name}/*`]),
  // Bundled CommonJS (ws, vscode-jsonrpc, ignore, ...) requires Node's built-in modules: an ES
  // module has no `require`, so each output file makes one for esbuild's require shim.
  banner: { js: "import { createRequire as __chorusCreateRequire } from 'node:module'; const require = __chorusCreateRequire(import.meta.url);" },
  // version.ts reads ../package.json relative to its own file, which in the bundle may be a
  // chunk one folder deeper: the bundle carries the version instead.
  // vscode-languageserver's file helpers (not used by `chorus lsp`) probe the file system's case
  // sensitivity with CommonJS's __filename: an ES module's is import.meta.filename (Node 20.11).
  define: { __CHORUS_VERSION__: JSON.stringify(pkg.version), __filename: 'import.meta.filename' },
  // Stack traces name the bundle's lines; the map beside each file turns them back into src/
  // lines for `node --enable-source-maps` (not on by default: it parses every map at start).
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

// Code that finds files relative to its own module must sit where that works:
// daemon-process.ts respawns `../cli.js` and page-server.ts serves `../page/`, both relative
// to a file one folder below dist/ — as tsc lays them out and as the chunks are.
const outputOf = (input) => Object.entries(result.metafile.outputs).find(([, o]) => Object.keys(o.inputs).includes(input))?.[0];
for (const input of ['src/lifecycle/daemon-process.ts', 'src/net/page-server.ts']) {
  const out = outputOf(input);
  if (!out || path.dirname(path.resolve(root, out)) !== path.join(outdir, CHUNKS)) {
    throw new Error(`${input} was bundled into ${out ?? 'nothing'}, not a file of ${path.join(outdir, CHUNKS)}: the paths it resolves at run time would be wrong`);
  }
}
// Nothing bundled may find files beside itself unnoticed: every input that uses its own file's
// location has been looked at and works from the bundle, for the reason given.
const REVIEWED = {
  'src/version.ts': 'reads ../package.json only where __CHORUS_VERSION__ is not defined (tsc output, src/)',
  'src/lifecycle/daemon-process.ts': 'respawns ../cli.js from dist/chunks/ (checked above)',
  'src/net/page-server.ts': 'serves ../page/ from dist/chunks/ (checked above)',
  'src/memory-report.ts': 'resolves the external @automerge/automerge from dist/chunks/ like any import',
  'node_modules/libsodium/dist/modules-esm/libsodium.mjs': 'import.meta.url is read in browsers only; the wasm is inline',
  'node_modules/vscode-languageserver/lib/node/files.js': "__filename (defined above) probes case sensitivity; require.resolve is inside a child process's script",
};
const OWN_LOCATION = /\b__dirname\b|\b__filename\b|import\.meta\.(url|dirname|filename|resolve)\b|\bcreateRequire\b|\brequire\.resolve\b/;
for (const input of Object.keys(result.metafile.inputs)) {
  if (input.startsWith('<') || Object.keys(REVIEWED).some((r) => input === r || input.endsWith(`node_modules/${r.slice('node_modules/'.length)}`))) continue;
  const lines = fs.readFileSync(path.resolve(root, input), 'utf8').split('\n');
  const hit = lines.findIndex((l) => !/^\s*(\/\/|\/\*|\*)/.test(l) && OWN_LOCATION.test(l));
  if (hit >= 0) throw new Error(`${input}:${hit + 1} finds files relative to its own module, which in the bundle is dist/ or dist/${CHUNKS}/: make it work there and add it to REVIEWED in ${fileURLToPath(import.meta.url)}`);
}
