/**
 * The order test files start in: the longest first, so that the workers (maxWorkers 3, decision 216)
 * finish together instead of one running a long editor or CLI file alone at the end, and the many short
 * unit-test files fill the gaps at the end.
 *
 * Vitest's own order uses its results cache (node_modules/.vite/vitest), which a fresh checkout and
 * `npm ci` do not have: without it, files run largest (in bytes) first, and some of the longest
 * files are among the shortest in bytes (the ERT runner, lost-state). So the rough durations of the
 * slow files are kept here, in seconds, from a full run on 2 cores with 3 workers (2026-12-05,
 * 917 s, every file of 4 s or more, as the reporter timed it; decision 216); files not listed
 * use the results cache when there is one, else start after the listed ones, largest first.
 * A wrong or stale figure only changes the order, never what runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SECONDS: Record<string, number> = {
  'test/cli/join-faults.test.ts': 114,
  'test/vscode/reconnect.test.ts': 96,
  'test/cli/lost-state.test.ts': 89,
  'test/cli/folder-deleted-while-away.test.ts': 76,
  'test/emacs/ert.test.ts': 66,
  'test/vscode/e2e.test.ts': 64,
  'test/disk/large-file.test.ts': 63,
  'test/cli/disk-races.test.ts': 61,
  'test/browser/mesh.test.ts': 61,
  'test/daemon/traces.test.ts': 54,
  'test/neovim/rename-here.test.ts': 51,
  'test/vscode/join.test.ts': 51,
  'test/vscode/autosave-replace-all.test.ts': 31,
  'test/cli/stop-bounded.test.ts': 48,
  'test/neovim/sync.test.ts': 46,
  'test/cli/typed-while-stopped.test.ts': 45,
  'test/cli/status-peers.test.ts': 43,
  'test/emacs/collab.test.ts': 42,
  'test/emacs/rename.test.ts': 38,
  'test/neovim/deleted-while-open.test.ts': 38,
  'test/cli/killed-before-write-back.test.ts': 37,
  'test/lsp/neovim.test.ts': 34,
  'test/neovim/presence.test.ts': 33,
  'test/peers/hostile.test.ts': 33,
  'test/cli/cli.test.ts': 33,
  'test/cli/not-shared.test.ts': 32,
  'test/vscode/rename.test.ts': 32,
  'test/vscode/save-as.test.ts': 32,
  'test/browser/ui.test.ts': 32,
  'test/peers/friendsforever.test.ts': 32,
  'test/neovim/stop-stays.test.ts': 30,
  'test/cli/session-words.test.ts': 28,
  'test/cli/stop-stays.test.ts': 26,
  'test/browser/long-history.test.ts': 25,
  'test/cli/failures.test.ts': 25,
  'test/neovim/symlinks.test.ts': 24,
  'test/neovim/files.test.ts': 24,
  'test/cli/lifecycle.test.ts': 23,
  'test/vscode/share-plain.test.ts': 22,
  'test/disk/real-projects.test.ts': 22,
  'test/cli/peer-gitignore.test.ts': 21,
  'test/collab/presence-flap.test.ts': 21,
  'test/cli/too-long-paths.test.ts': 21,
  'test/net/overlay.test.ts': 21,
  'test/lsp/scripted.test.ts': 20,
  'test/cli/revert-after-join-conflict.test.ts': 19,
  'test/browser/edit.test.ts': 19,
  'test/daemon/concurrent.test.ts': 18,
  'test/browser/serve.test.ts': 16,
  'test/neovim/end-of-buffer.test.ts': 16,
  'test/workspace/snapshot-check.test.ts': 16,
  'test/cli/kept-here.test.ts': 16,
  'test/cli/folders.test.ts': 15,
  'test/net/webrtc.test.ts': 15,
  'test/disk/peers.test.ts': 15,
  'test/emacs/typed-while-stopped.test.ts': 14,
  'test/cli/person-name.test.ts': 14,
  'test/cli/deleted-while-away.test.ts': 14,
  'test/browser/persist.test.ts': 13,
  'test/cli/install.test.ts': 13,
  'test/lsp/stopped-daemon.test.ts': 13,
  'test/cli/status-writing.test.ts': 13,
  'test/neovim/read-only.test.ts': 13,
  'test/disk/file-folder-clash.test.ts': 13,
  'test/disk/rename-while-appending.test.ts': 13,
  'test/peers/mesh.test.ts': 12,
  'test/peers/convergence.test.ts': 12,
  'test/cli/demo.test.ts': 11,
  'test/emacs/read-only.test.ts': 11,
  'test/disk/many-files-at-once.test.ts': 11,
  'test/peers/snapshot-bound.test.ts': 11,
  'test/neovim/crash-leftover.test.ts': 10,
  'test/cli/join-code-words.test.ts': 10,
  'test/peers/faults.test.ts': 10,
  'test/cli/blobs-pruned.test.ts': 9,
  'test/net/relay-bounds.test.ts': 9,
  'test/disk/rename-while-typing.test.ts': 9,
  'test/cli/dot-dir-gone.test.ts': 9,
  'test/net/overlay-race.test.ts': 9,
  'test/browser/page-name.test.ts': 8,
  'test/net/secure.test.ts': 7,
  'test/net/overlay-flood.test.ts': 7,
  'test/emacs/join.test.ts': 7,
  'test/disk/editor-opens-a-file-being-made.test.ts': 7,
  'test/disk/late-write-to-replaced-file.test.ts': 7,
  'test/net/handshake-flood.test.ts': 7,
  'test/disk/crash.test.ts': 7,
  'test/collab/open-buffer-conflict.test.ts': 6,
  'test/net/relay.test.ts': 6,
  'test/cli/stop-foreground.test.ts': 6,
  'test/lsp/reopen-pending.test.ts': 6,
  'test/disk/rename-delete.test.ts': 6,
  'test/disk/watch.test.ts': 6,
  'test/cli/relay-status.test.ts': 6,
  'test/workspace/index-batch.test.ts': 5,
  'test/daemon/trace-points.test.ts': 5,
  'test/browser/store-idb.test.ts': 5,
  'test/lsp/rename.test.ts': 5,
  'test/cli/nested-appears.test.ts': 5,
  'test/cli/connect-outside.test.ts': 5,
  'test/peers/hostile-fuzz.test.ts': 5,
  'test/disk/enospc.test.ts': 4,
  'test/cli/terminal-escapes.test.ts': 4,
  'test/cli/long-names.test.ts': 4,
  'test/lsp/typed-while-starting.test.ts': 4,
  'test/peers/peer-identity.test.ts': 4,
};

export class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const rel = (f: TestSpecification) => path.relative(root, f.moduleId).split(path.sep).join('/');
    const estimate = (f: TestSpecification): number => {
      const known = SECONDS[rel(f)];
      if (known !== undefined) return known * 1000;
      return this.ctx.cache.getFileTestResults(`${f.project.name}:${rel(f)}`)?.duration ?? 0;
    };
    const size = (f: TestSpecification): number => {
      try {
        return fs.statSync(f.moduleId).size;
      } catch {
        return 0;
      }
    };
    const keyed = files.map((f) => ({ f, ms: estimate(f), bytes: size(f) }));
    keyed.sort((a, b) => b.ms - a.ms || b.bytes - a.bytes);
    return keyed.map((k) => k.f);
  }
}
