// Part of `npm run build -w chorus`, after `tsc`: bundles the `chorus` command and the daemon
// from src/ into dist/cli.js plus the lazily loaded parts in dist/chunks/, so that starting
// either reads a few files instead of Node resolving, opening and compiling ~220 of them
// (docs/decisions/150-the-cli-is-bundled.md). tsc's per-module output stays in dist/ beside it for the
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
// - node-datachannel: a native addon (its loader finds the .node file of its platform package
//   from its own location). External.
// - @automerge/automerge: its JavaScript is bundled, but not its WebAssembly bindings, a
//   CommonJS file that reads automerge_wasm_bg.wasm from its own __dirname; memory-report.ts
//   reaches that very instance through Node's CommonJS cache by the same path. So the package's
//   Node entry is replaced by one that `require`s the bindings from the installed package
//   (AUTOMERGE_NODE_ENTRY below): as Node's ESM loader would, minus its ~33 module files
//   (Automerge's and uuid's) and the ES-module wrapping of the CommonJS bindings.
const EXTERNAL = ['node-datachannel'];
const FROM_PACKAGE = [...EXTERNAL, '@automerge/automerge'];
for (const name of FROM_PACKAGE) {
  if (!pkg.dependencies?.[name]) throw new Error(`${name} is loaded from its package at run time, so it must be in daemon/package.json's dependencies`);
}
const AUTOMERGE_BINDINGS = 'mjs/wasm_bindgen_output/nodejs/automerge_wasm.cjs'; // relative to the folder of automerge.wasm
const AUTOMERGE_NODE_ENTRY = /[\\/]@automerge[\\/]automerge[\\/]dist[\\/]mjs[\\/]entrypoints[\\/]fullfat_node_next\.js$/;
{
  const dist = path.dirname(fileURLToPath(import.meta.resolve('@automerge/automerge/automerge.wasm')));
  if (!fs.existsSync(path.join(dist, AUTOMERGE_BINDINGS))) throw new Error(`@automerge/automerge has no ${AUTOMERGE_BINDINGS} beside automerge.wasm: its layout changed, see AUTOMERGE_NODE_ENTRY`);
}
/**
 * An esbuild plugin that bundles `contents` (JavaScript) in place of the file matching `filter`;
 * `replaced()` says whether it did, so that the build fails when a package's layout moves.
 */
function replacing(name, filter, contents) {
  let hit = false;
  const plugin = {
    name,
    setup(b) {
      b.onLoad({ filter }, () => {
        hit = true;
        return { loader: 'js', contents };
      });
    },
  };
  return { plugin, replaced: () => hit };
}

// The package's entry, `UseApi(bindings); export * from "../next_slim.js"`, with the bindings
// required from the installed package instead of imported relative to it.
const automergeEntry = replacing(
  'automerge-bindings-from-package',
  AUTOMERGE_NODE_ENTRY,
  [
    "import { createRequire } from 'node:module';",
    "import path from 'node:path';",
    "import { UseApi } from '../low_level.js';",
    'const requireFromHere = createRequire(import.meta.url);',
    `UseApi(requireFromHere(path.join(path.dirname(requireFromHere.resolve('@automerge/automerge/automerge.wasm')), ${JSON.stringify(AUTOMERGE_BINDINGS)})));`,
    "export * from '../next_slim.js';",
  ].join('\n'),
);

// zod's `z.locales` namespace imports its error messages in every language it has (~50 files,
// 366 kB of the 750 kB zod adds to the daemon), compiled by every daemon start; zod itself uses
// English (classic/schemas.js imports locales/en.js directly), and nothing here picks another
// language. So the namespace keeps English only: ~15 ms less CPU per daemon start (decision 203).
const ZOD_LOCALES = /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/;
const zodLocales = replacing('zod-english-only', ZOD_LOCALES, 'export { default as en } from "./en.js";');

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
  plugins: [automergeEntry.plugin, zodLocales.plugin],
  logLevel: 'warning',
});
if (!zodLocales.replaced()) throw new Error("zod's locales/index.js was not bundled: is ZOD_LOCALES still its path?");
if (!automergeEntry.replaced()) throw new Error("@automerge/automerge's Node entry was not bundled: is AUTOMERGE_NODE_ENTRY still its path?");
for (const [out, o] of Object.entries(result.metafile.outputs)) {
  const bindings = Object.keys(o.inputs).find((i) => i.includes('wasm_bindgen_output/nodejs/'));
  if (bindings) throw new Error(`${out} bundles ${bindings}: the bindings must be loaded from the package (see AUTOMERGE_NODE_ENTRY)`);
}

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
  'src/memory-report.ts': "requires Automerge's bindings from the installed package, as the bundle does (same instance)",
  'node_modules/@automerge/automerge/dist/mjs/entrypoints/fullfat_node_next.js': 'replaced by automergeEntry above',
  'node_modules/@automerge/automerge/dist/mjs/wasm_bindgen_output/web/automerge_wasm.js': "the browser bindings' init (import.meta.url) is never called: UseApi gets the Node bindings",
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
