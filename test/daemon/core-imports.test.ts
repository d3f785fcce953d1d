// Issue 13: the core (CRDT model, replication, peer protocol, handshake) stays platform-neutral, so
// the browser peer (issue 17) can bundle the very same modules. Decision 065 says what is allowed.
// These checks walk what daemon/src/core.ts reaches, as esbuild resolves it for a browser.
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY = 'daemon/src/core.ts';

/** The modules issue 13 names as the core: core.ts must reach each, so none escapes the checks. */
const CORE_MODULES = [
  'daemon/src/workspace/text-doc.ts',
  'daemon/src/workspace/file-index.ts',
  'daemon/src/workspace/index-schema.ts',
  'daemon/src/workspace/extension-data.ts',
  'daemon/src/workspace/path-rules.ts',
  'daemon/src/text/text-op.ts',
  'daemon/src/text/positions.ts',
  'daemon/src/text/line-index.ts',
  'daemon/src/text/diff-op.ts',
  'daemon/src/text/json-depth.ts',
  'daemon/src/sync/replicator.ts',
  'daemon/src/sync/peer-messages.ts',
  'daemon/src/sync/change-check.ts',
  'daemon/src/sync/snapshot-check.ts',
  'daemon/src/sync/chunk-columns.ts',
  'daemon/src/net/overlay.ts',
  'daemon/src/net/overlay-wire.ts',
  'daemon/src/net/peer-links.ts',
  'daemon/src/net/secure.ts',
  'daemon/src/net/credentials.ts',
  'daemon/src/net/join-code.ts',
  'daemon/src/net/link.ts',
  'daemon/src/net/backoff.ts',
  'daemon/src/net/relay-client.ts',
  'daemon/src/net/relay-protocol.ts',
  'daemon/src/net/memory.ts',
  // Decision 090: the page runs the same Workspace, Presence and UndoManager on its own store.
  'daemon/src/workspace/workspace.ts',
  'daemon/src/workspace/document-store.ts',
  'daemon/src/workspace/memory-store.ts',
  'daemon/src/workspace/blob-store.ts',
  'daemon/src/presence/presence.ts',
  'daemon/src/editor/undo-manager.ts',
  'daemon/src/editor/undo-history.ts',
  'daemon/src/change-route.ts',
  'daemon/src/text/decode-text.ts',
];

/** Packages that are platform edges: they belong to the daemon's side (node-transports.ts, disk/). */
const EDGE_PACKAGES = new Set(['ws', 'chokidar', 'node-datachannel']);
/**
 * Node built-ins the core may name because browser bundlers resolve the bare name to a package
 * with the same API (the `events` package is a dependency of the daemon for that reason).
 */
const BROWSER_STAND_INS = new Set(['events']);

function forbidden(spec: string): boolean {
  if (spec.startsWith('node:')) return true;
  if (isBuiltin(spec)) return !BROWSER_STAND_INS.has(spec);
  const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  return EDGE_PACKAGES.has(pkg);
}

/** Record forbidden imports as externals instead of failing on the first, so all are reported. */
const recordForbidden: Plugin = {
  name: 'record-forbidden',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (forbidden(args.path) ? { path: args.path, external: true } : undefined));
  },
};

/** Node-only globals; each free reference to one is renamed to NODE_ONLY_GLOBAL.<name> in the bundle. */
const NODE_GLOBALS = ['Buffer', 'process', 'setImmediate', 'clearImmediate', '__dirname', '__filename', 'global'];
const MARK = 'NODE_ONLY_GLOBAL';

interface Bundled {
  metafile: Metafile;
  /** The bundle's JavaScript (not minified: esbuild heads each module's code with `// path`). */
  js: string;
}

async function bundle(entry: string, plugins: Plugin[]): Promise<Bundled> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // Automerge's browser build imports its WebAssembly module; the page serves it as a file.
    loader: { '.wasm': 'file' },
    // Only free references (the globals) are replaced, never a local or a property of that name.
    define: Object.fromEntries(NODE_GLOBALS.map((g) => [g, `${MARK}.${g}`])),
    outdir: 'core-bundle',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins,
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  return { metafile: result.metafile, js: js?.text ?? '' };
}

/** The TIMERS_MODULE alone may feature-test for Node's timer methods (browsers' timers are numbers). */
const TIMERS_MODULE = 'daemon/src/timers.ts';

/** Uses of Node-only globals (and of timer.unref()) in our own modules of a bundle, as "file name". */
function nodeGlobalUses(js: string): string[] {
  const found: string[] = [];
  let file = '';
  for (const line of js.split('\n')) {
    const head = /^\/\/ (\S+)$/.exec(line);
    if (head) file = head[1]!;
    if (!file.startsWith('daemon/src/')) continue;
    for (const m of line.matchAll(new RegExp(`${MARK}\\.(\\w+)`, 'g'))) found.push(`${file} ${m[1]}`);
    if (/\.unref\(/.test(line) && file !== TIMERS_MODULE) found.push(`${file} unref`);
  }
  return found;
}

/** Every import chain from `entry` to a forbidden import, as "a.ts → b.ts → ws". */
function offendingChains(meta: Metafile, entry: string): string[] {
  const parent = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  const chains: string[] = [];
  const chainTo = (file: string): string[] => {
    const out: string[] = [];
    for (let at: string | undefined = file; at !== undefined; at = parent.get(at)) out.unshift(at);
    return out;
  };
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.external) {
        if (forbidden(imp.path)) chains.push([...chainTo(file), imp.path].join(' → '));
      } else if (!parent.has(imp.path)) {
        parent.set(imp.path, file);
        queue.push(imp.path);
      }
    }
  }
  return chains;
}

describe('the platform-neutral core (issue 13, decision 065)', () => {
  it('reaches no Node built-in, ws, chokidar or node-datachannel, naming the import chain when it does', async () => {
    const { metafile } = await bundle(ENTRY, [recordForbidden]);
    const reached = Object.keys(metafile.inputs);
    for (const m of CORE_MODULES) expect(reached, `core.ts no longer reaches ${m}`).toContain(m);
    expect(offendingChains(metafile, ENTRY)).toEqual([]);
  });

  it('uses no Node-only global (Buffer, process, setImmediate, timer.unref, …) in its own modules', async () => {
    const { js } = await bundle(ENTRY, [recordForbidden]);
    expect(nodeGlobalUses(js)).toEqual([]);
  });

  it('bundles for a browser with esbuild', async () => {
    const { js } = await bundle(ENTRY, []);
    expect(js).toContain('var Overlay = class');
  });

  it('the checks catch an offender: the WebSocket transport, which imports ws and node:os and uses Buffer', async () => {
    // Pins that the checks can fail: websocket.ts is a platform edge (node-transports.ts uses it).
    const edge = 'daemon/src/net/websocket.ts';
    const { metafile, js } = await bundle(edge, [recordForbidden]);
    const chains = offendingChains(metafile, edge);
    expect(chains).toContain('daemon/src/net/websocket.ts → ws');
    expect(chains).toContain('daemon/src/net/websocket.ts → node:os');
    expect(chains.some((c) => c.startsWith('daemon/src/net/websocket.ts → daemon/src/net/host-id.ts → '))).toBe(true);
    const uses = nodeGlobalUses(js);
    expect(uses).toContain('daemon/src/net/websocket.ts Buffer');
    expect(uses).toContain('daemon/src/net/websocket.ts unref');
    await expect(bundle(edge, [])).rejects.toThrow(/Could not resolve "(ws|node:os)"/);
  });
});
