/**
 * A WriteBack over an in-memory Workspace and a real temporary folder, for unit tests of the
 * folder's write path (PendingContent, take-ins): `lines` collects what it logs, and each live
 * file's text is written when it changes, as the change route's disk step does.
 */
import path from 'node:path';
import { DiskLedger } from '../../daemon/src/disk/disk-ledger.js';
import { WriteBack } from '../../daemon/src/disk/write-back.js';
import { Project } from '../../daemon/src/project.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';
import { tempProject } from './project-dir.js';

export interface WriteBackFixture {
  root: string;
  here: Workspace;
  ledger: DiskLedger;
  writeBack: WriteBack;
  lines: string[];
  /** Write what is waiting and close everything (afterEach). */
  close(): Promise<void>;
}

export function writeBackFixture(): WriteBackFixture {
  const root = tempProject({});
  const lines: string[] = [];
  const here = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), { read: async () => undefined });
  const ledger = new DiskLedger(path.join(root, '.chorus', 'disk'));
  const writeBack = new WriteBack(new Project(root), here, ledger, (m) => lines.push(m));
  here.on('text', (c) => writeBack.schedule(c.fileId));
  return {
    root,
    here,
    ledger,
    writeBack,
    lines,
    close: async () => {
      await writeBack.flush();
      ledger.close();
      here.close();
    },
  };
}
