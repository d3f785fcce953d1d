/**
 * Where the daemon's memory goes, cheaply enough to answer in every `session/status`: the
 * process's own counters plus the size of Automerge's WebAssembly memory, which V8 counts only
 * inside `external` and which is most of a daemon's footprint when documents are loaded.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

interface WasmExports { memory?: WebAssembly.Memory }

let wasm: WasmExports | null | undefined;

/**
 * The exports of the Automerge WebAssembly instance this process uses, or null when they cannot
 * be reached (a build that inlines the bindings). Node's ESM entry of `@automerge/automerge/next`
 * loads the same CommonJS bindings file, and CommonJS modules are cached by path, so this is that
 * instance, not a second one; the bundled `chorus` keeps loading that file from the package for
 * this reason too (scripts/bundle.mjs, decision 150).
 */
function automergeWasm(): WasmExports | null {
  if (wasm !== undefined) return wasm;
  try {
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@automerge/automerge/automerge.wasm'));
    wasm = (require(path.join(dist, 'mjs/wasm_bindgen_output/nodejs/automerge_wasm.cjs')) as { __wasm?: WasmExports }).__wasm ?? null;
  } catch {
    wasm = null;
  }
  return wasm;
}

/** Bytes of Automerge's WebAssembly linear memory (0 when unknown); it grows and never shrinks. */
export function automergeWasmBytes(): number {
  return automergeWasm()?.memory?.buffer.byteLength ?? 0;
}

/** Bytes of RSS, V8 heap (used and total), external, arrayBuffers and Automerge's wasm memory. */
export function processMemory(): { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; wasm: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, wasm: automergeWasmBytes() };
}
