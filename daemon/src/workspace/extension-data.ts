/**
 * Replicated data for editor plugins (the seed's "arbitrary data replicated"): a JSON value per
 * namespace and key, in its own Automerge document, merged like everything else and kept across
 * restarts. Values are stored as JSON strings, so a key's value is replaced whole (last writer
 * wins between concurrent sets) rather than merged field by field.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import * as A from '@automerge/automerge/next';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { Failure } from '../errors.js';
import { StorageFailed, type DocumentStore } from './document-store.js';
import type { RawChange } from './text-doc.js';

export const DATA_DOC_ID = 'data';
/** Largest JSON value, in bytes. */
export const MAX_VALUE_BYTES = 64 * 1024;

type Shape = Record<string, Record<string, A.RawString>>;

export interface DataChange {
  namespace: string;
  key: string;
  /** null when the key was deleted. */
  value: unknown;
}

export class ExtensionData extends EventEmitter<{ changed: [DataChange]; localChange: [docId: string, change: RawChange] }> {
  private doc: A.Doc<Shape>;

  /** `storage`: the same store the workspace's documents persist in (document-store.ts). */
  constructor(
    private readonly storage: DocumentStore,
    actor: string,
  ) {
    super();
    this.doc = storage.open(DATA_DOC_ID, (snapshot, changes) => {
      let doc = snapshot ? A.load<Shape>(snapshot, { actor }) : A.init<Shape>({ actor });
      if (changes.length) [doc] = A.applyChanges(doc, changes);
      return doc;
    });
  }

  docIds(): string[] {
    return [DATA_DOC_ID];
  }

  private readOnly = false;

  /** Changes in the shared state: saved now, or (disk full) as soon as the disk takes them. */
  private save(changes: RawChange[]): void {
    try {
      this.storage.append(DATA_DOC_ID, changes);
    } catch (e) {
      // A refused write (disk full) is kept and written later; anything else is a bug.
      if (!(e instanceof StorageFailed)) throw e;
      this.storage.defer(DATA_DOC_ID, changes);
    }
  }

  /** Refuse local sets (this daemon holds a read-only code; decision 013). */
  setReadOnly(readOnly: boolean): void {
    this.readOnly = readOnly;
  }

  set(namespace: string, key: string, value: unknown): void {
    // A JS object key with a meaning of its own: stored, it could never be read back.
    if (namespace === '__proto__' || key === '__proto__') throw new Failure('invalid', 'the name "__proto__" cannot be used as a namespace or key; pick another');
    if (this.readOnly) throw new Failure('readOnly', `you joined this session read-only: ${namespace}/${key} was not set; ask for a writer's join code to change shared data`);
    const json = JSON.stringify(value);
    const bytes = utf8ToBytes(json).length;
    if (bytes > MAX_VALUE_BYTES) {
      throw new Failure('tooLarge', `the value for ${namespace}/${key} is ${bytes} bytes of JSON; the limit is ${MAX_VALUE_BYTES}`);
    }
    const before = this.doc;
    this.doc = A.change(this.doc, (d) => {
      if (value === null) {
        if (d[namespace]) delete d[namespace][key];
        return;
      }
      if (!d[namespace]) d[namespace] = {};
      d[namespace][key] = new A.RawString(json);
    });
    if (this.doc === before) return;
    const change = A.getLastLocalChange(this.doc)!;
    this.save([change]);
    this.emit('localChange', DATA_DOC_ID, change);
    this.emit('changed', { namespace, key, value });
  }

  get(namespace: string, key: string): unknown {
    const raw = this.doc[namespace]?.[key];
    return raw === undefined ? undefined : parseValue(String(raw));
  }

  entries(namespace: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.doc[namespace] ?? {})) {
      const value = parseValue(String(v));
      if (value !== undefined) out[k] = value;
    }
    return out;
  }

  private snapshotValues(): Map<string, string> {
    const m = new Map<string, string>();
    for (const [ns, keys] of Object.entries(this.doc)) for (const [k, v] of Object.entries(keys ?? {})) m.set(`${ns}\u0000${k}`, String(v));
    return m;
  }

  private announce(before: Map<string, string>): void {
    const after = this.snapshotValues();
    for (const [id, v] of after) {
      const value = parseValue(v);
      if (before.get(id) === v || value === undefined) continue;
      const [namespace, key] = id.split('\u0000') as [string, string];
      this.emit('changed', { namespace, key, value });
    }
    for (const id of before.keys()) {
      if (after.has(id)) continue;
      const [namespace, key] = id.split('\u0000') as [string, string];
      this.emit('changed', { namespace, key, value: null });
    }
  }

  applyRemote(_docId: string, changes: RawChange[]): void {
    const before = this.snapshotValues();
    [this.doc] = A.applyChanges(this.doc, changes);
    this.save(changes);
    this.announce(before);
  }

  receiveSync(_docId: string, state: A.SyncState, message: Uint8Array): A.SyncState {
    const before = this.snapshotValues();
    const heads = A.getHeads(this.doc).join(',');
    const [doc, next] = A.receiveSyncMessage(this.doc, state, message);
    this.doc = doc;
    if (A.getHeads(this.doc).join(',') !== heads) this.storage.snapshot(DATA_DOC_ID, A.save(this.doc));
    this.announce(before);
    return next;
  }

  missingDeps(_docId: string, hashes: string[]): string[] {
    return hashes.length ? A.getMissingDeps(this.doc, hashes) : [];
  }

  generateSync(_docId: string, state: A.SyncState): { state: A.SyncState; message: Uint8Array | null } {
    const [next, message] = A.generateSyncMessage(this.doc, state);
    return { state: next, message };
  }

  close(): void {
    this.storage.snapshot(DATA_DOC_ID, A.save(this.doc));
  }
}

/**
 * A stored value, or undefined for one that is not JSON: peers' changes are checked for that
 * (change-check.ts), but a document saved by an older version may hold one, and it must not stop
 * the rest of its namespace from reading.
 */
function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
