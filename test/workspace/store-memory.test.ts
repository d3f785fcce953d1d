// The in-memory stores (MemoryStore, MemoryBlobStore: unit tests, and a page until its IndexedDB
// store exists) pass the store acceptance suite (decision 090). "Reopen" is a new store on the
// same MemoryState, as a restart sees what was persisted; refusals are MemoryStore.refuseWrites.
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { storeAcceptance, type StoreUnderTest } from './store-acceptance.js';

const open: StoreUnderTest[] = [];

function track(s: StoreUnderTest): StoreUnderTest {
  open.push(s);
  return s;
}

storeAcceptance(
  'MemoryStore + MemoryBlobStore',
  {
    async open(notice) {
      return track({ docs: new MemoryStore(notice), blobs: new MemoryBlobStore() });
    },
    async reopen(previous, notice) {
      const docs = previous.docs as MemoryStore;
      const blobs = previous.blobs as MemoryBlobStore;
      return track({ docs: new MemoryStore(notice, docs.state), blobs: new MemoryBlobStore(blobs.blobs) });
    },
    refuse(store, code) {
      (store.docs as MemoryStore).refuseWrites(code);
    },
    async dispose() {
      for (const s of open.splice(0)) s.docs.close();
    },
  },
  { describe, it, expect },
);
