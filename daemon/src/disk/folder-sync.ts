/**
 * Brings the shared state in step with what is on disk: on start (catching edits made while the
 * daemon was down) and, with the watcher, whenever another tool changes a file. Content goes in
 * as a diff against the last known content, so concurrent remote edits survive.
 */
import fs from 'node:fs';
import { hashBytes } from '../workspace/blob-store.js';
import type { Workspace } from '../workspace/workspace.js';
import type { Project } from '../project.js';
import { readBytes } from './files.js';
import { IgnoreRules } from './ignore-rules.js';
import { scanFolder } from './scan.js';
import type { WriteBack } from './write-back.js';

/** Files larger than this are not shared at all (a peer message carries at most 64 MiB). */
export const MAX_SHARED_FILE = 48 * 1024 * 1024;

export class FolderSync {
  readonly rules: IgnoreRules;

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    private readonly log: (msg: string) => void,
  ) {
    this.rules = new IgnoreRules(project.root);
  }

  /** Take in one file's current bytes from disk (new, changed, or unchanged). */
  async take(rel: string): Promise<void> {
    const bytes = await readBytes(this.project.absolute(rel));
    if (bytes === undefined) return;
    if (bytes.length > MAX_SHARED_FILE) {
      this.log(`not sharing ${rel}: ${bytes.length} bytes is over the ${MAX_SHARED_FILE}-byte limit`);
      return;
    }
    const hash = hashBytes(bytes);
    const fileId = this.workspace.index.idOf(rel);
    if (fileId && this.writeBack.isOwn(rel, hash)) {
      // Our own write (maybe an older one, if we crashed): make sure the newest content is there.
      await this.refresh(rel, fileId, hash);
      return;
    }
    this.writeBack.remember(rel, hash);
    this.workspace.contentChanged(rel, bytes, { kind: 'disk' });
  }

  private async refresh(rel: string, fileId: string, onDisk: string): Promise<void> {
    const data = this.workspace.content(fileId);
    if (data && hashBytes(data) !== onDisk) await this.writeBack.writeNow(rel, data, true);
  }

  /** Scan the whole folder and take in every file. */
  async scanAll(): Promise<number> {
    const files = await scanFolder(this.project.root, this.rules);
    for (const f of files) await this.take(f.rel);
    return files.length;
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.project.absolute(rel));
  }
}
