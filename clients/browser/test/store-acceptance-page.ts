/**
 * Runs the store acceptance suite (test/workspace/store-acceptance.ts, decision 090) inside a
 * page, against the page's IndexedDB store (clients/browser/src/peer/idb-store.ts). Bundled and
 * opened in Chromium by test/browser/store-idb.test.ts; results land in `window.acceptance`.
 * A minimal describe/it/expect: the suite uses toBe, toEqual, toThrow, toBeInstanceOf,
 * toContain, toBeGreaterThan and `not`.
 */
import { initializeWasm } from '@automerge/automerge/slim/next';
import { IdbStore, openDatabase } from '../src/peer/idb-store.js';
import { storeAcceptance, type Matchers, type StoreUnderTest } from '../../../test/workspace/store-acceptance.js';

interface Result {
  name: string;
  ok: boolean;
  error?: string;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map && b instanceof Map) return a.size === b.size && [...a].every(([k, v]) => b.has(k) && deepEqual(v, b.get(k)));
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((v) => b.has(v));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) ? `<${(x as Uint8Array).length} bytes>` : x instanceof Map ? [...x] : x))?.slice(0, 300) ?? String(v);
  } catch {
    return String(v);
  }
};

function matchers(actual: unknown, message: string | undefined, negate: boolean): Matchers {
  const check = (pass: boolean, what: string): void => {
    if (pass === negate) throw new Error(`${message ? message + ': ' : ''}expected ${show(actual)} ${negate ? 'not ' : ''}${what}`);
  };
  const m: Matchers = {
    toBe: (e) => check(Object.is(actual, e), `to be ${show(e)}`),
    toEqual: (e) => check(deepEqual(actual, e), `to equal ${show(e)}`),
    toBeInstanceOf: (e) => check(actual instanceof (e as new () => unknown), `to be an instance of ${(e as { name: string }).name}`),
    toContain: (e) => check(typeof actual === 'string' ? actual.includes(e as string) : Array.isArray(actual) && actual.some((x) => deepEqual(x, e)), `to contain ${show(e)}`),
    toBeGreaterThan: (e) => check(typeof actual === 'number' && actual > e, `to be greater than ${e}`),
    toThrow: (e) => {
      let thrown: unknown;
      let threw = false;
      try {
        (actual as () => unknown)();
      } catch (err) {
        threw = true;
        thrown = err;
      }
      const msg = thrown instanceof Error ? thrown.message : String(thrown);
      const fits =
        threw &&
        (e === undefined ||
          (e instanceof RegExp && e.test(msg)) ||
          (typeof e === 'string' && msg.includes(e)) ||
          (typeof e === 'function' && thrown instanceof (e as new () => unknown)));
      check(fits, `to throw ${e === undefined ? '' : show(e instanceof RegExp ? String(e) : typeof e === 'function' ? (e as { name: string }).name : e)} (threw ${threw ? msg : 'nothing'})`);
    },
    get not(): Matchers {
      return matchers(actual, message, !negate);
    },
  };
  return m;
}

const tests: Array<{ name: string; body: () => Promise<void> | void }> = [];
const prefix: string[] = [];
const api = {
  describe(name: string, body: () => void): void {
    prefix.push(name);
    body();
    prefix.pop();
  },
  it(name: string, body: () => Promise<void> | void): void {
    tests.push({ name: [...prefix, name].join(' > '), body });
  },
  expect: (actual: unknown, message?: string): Matchers => matchers(actual, message, false),
};

let seq = 0;
const names = new Map<object, string>();
const dbs: IDBDatabase[] = [];
const opened: StoreUnderTest[] = [];

async function openStore(name: string, notice: (m: string) => void): Promise<StoreUnderTest> {
  const db = await openDatabase(name);
  dbs.push(db);
  const { docs, blobs } = await IdbStore.open(db, notice);
  names.set(docs, name);
  const s = { docs, blobs };
  opened.push(s);
  return s;
}

storeAcceptance(
  'IdbStore + IdbBlobStore (IndexedDB, Chromium)',
  {
    open: (notice) => openStore(`acceptance-${Date.now()}-${seq++}`, notice),
    async reopen(previous, notice) {
      // A new store object on the same database, as a reloaded tab opens it.
      return openStore(names.get(previous.docs)!, notice);
    },
    refuse(store, code) {
      (store.docs as IdbStore).refuseWrites(code);
    },
    async dispose() {
      for (const s of opened.splice(0)) {
        try {
          s.docs.close();
          await s.docs.flush();
        } catch {
          /* closed already */
        }
      }
      for (const db of dbs.splice(0)) db.close();
      for (const name of new Set(names.values())) indexedDB.deleteDatabase(name);
      names.clear();
    },
  },
  api,
);

async function run(): Promise<void> {
  await initializeWasm(new URL('automerge.wasm', location.href).href);
  const results: Result[] = [];
  for (const t of tests) {
    try {
      await t.body();
      results.push({ name: t.name, ok: true });
    } catch (e) {
      results.push({ name: t.name, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }
  (globalThis as unknown as { acceptance: Result[] }).acceptance = results;
}

void run();
