// A join's progress line, as `chorus join` and the VS Code client print it (protocol/src/session-words.ts):
// before the session's list of files arrives there is nothing to count, and the line said
// "syncing: 0/0 files, 0.0/0.0 MB" for seconds (a user trial).
import { expect, it } from 'vitest';
import { progressWords, SessionWords } from '../../protocol/src/session-words.js';

it('names each phase of a join, and does not count 0 of 0 files while the file list is on its way', () => {
  expect(progressWords({ phase: 'connecting', files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 })).toBe('connecting to the session…');
  expect(progressWords({ phase: 'syncing', files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 })).toBe(`${SessionWords.syncingFileList}…`);
  expect(progressWords({ phase: 'writing', files: 3, filesTotal: 10, bytes: 120_000, bytesTotal: 1_234_567 })).toBe('writing: 3/10 files, 0.1/1.2 MB');
  expect(progressWords({ phase: 'writing', files: 3, filesTotal: 10 })).toBe('writing: 3/10 files');
  expect(progressWords({ phase: 'done', files: 10, filesTotal: 10, bytes: 5, bytesTotal: 5 })).toBe('done: 10/10 files, 0.0/0.0 MB');
});
