import { configDefaults, defineConfig } from 'vitest/config';
import { SlowestFirstSequencer } from './test/support/sequencer.js';

const ALL = ['test/**/*.test.ts', 'protocol/test/**/*.test.ts', 'daemon/test/**/*.test.ts'];

/**
 * Test files that run in a shared process (decision 209): in-process unit tests that start no
 * process, change no global (environment, timers, spies on shared modules) and measure no memory.
 * Each would spend more CPU on its own process and on importing Automerge and the daemon's modules
 * again (~0.9 s) than on its tests. A file that needs a fresh process stays out of this list.
 */
const SHARED_PROCESS = [
  'test/protocol/*.test.ts',
  'test/workspace/{actors,buffer-follows-file,graveyard,join-holds-own-back,index-batch,made-twice-here,old-conflict-join,old-copy-later-joiner,empty-folder-yielded-by-peer,removal-saw,snapshot-check,store-fs,store-memory,text-at-heads,text-doc}.test.ts',
  'test/daemon/{framing,frame-guard,path-rules,log-line,text-units,editor-order,request-order,test-timings,scripted-editor-lines,protocol,working-set,keystroke-path,copy-notices,identity,diff-op}.test.ts',
  'test/cli/status-text.test.ts',
  'test/net/{aead,ed25519,join-code,datachannel-frames,datachannel-close,host-addrs,page-server}.test.ts',
  'test/disk/{disk-ledger,ignore-rules,kept-rules,dot-dot-names,byte-order-mark,pending-content,waiting-content,git-dir-guard}.test.ts',
];

/** What both projects run with (each project gets it spread in: `extends` would also give each the
 * root's globalSetup, run once per project, two nested temp folders and a false "left behind"). */
const EACH = {
  // What each file needs done after it, in a process of its own or a shared one.
  setupFiles: ['test/support/each-file.ts'],
  // Real daemons, real sockets, real editors: generous limits, never timing assertions.
  testTimeout: 120_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // A private temp folder per run, checked for leftovers at the end (issue #12): once per run.
    globalSetup: ['test/support/global-setup.ts'],
    // Three on two cores: with two, both workers often waited at once (a daemon starting, an
    // editor, a bounded wait) and the cores were idle ~19 % of a run (1,107 s); with three they
    // are busy ~95 % (782–929 s), each test ~1.25× slower. The races the load brought out were
    // product faults, fixed (decision 216, superseding point 4 of decision 209).
    maxWorkers: 3,
    // The longest files start first, so the workers end together (test/support/sequencer.ts).
    sequence: { sequencer: SlowestFirstSequencer },
    projects: [
      { test: { ...EACH, name: 'own-process', include: ALL, exclude: [...configDefaults.exclude, ...SHARED_PROCESS] } },
      { test: { ...EACH, name: 'shared-process', include: SHARED_PROCESS, isolate: false } },
    ],
  },
});
