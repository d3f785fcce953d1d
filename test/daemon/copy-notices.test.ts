// CopyNotices (decision 224): a conflict copy is told to the person, a burst as one notice.
import { expect, it } from 'vitest';
import { COPY_NOTICES_ONE_BY_ONE, CopyNotices } from '../../daemon/src/editor/copy-notices.js';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a few copies are told one by one, with what to do; a burst is one notice with the count', async () => {
  const sent: string[] = [];
  const n = new CopyNotices((m) => sent.push(m), 20);
  n.add('a.md was created on two peers at once; the other version is kept as a (conflict 1a2b3c).md');
  n.add('b.md was changed on two peers at once; the other version is kept as b (conflict 4d5e6f).md');
  expect(sent).toEqual([]); // gathered first
  await settle(60);
  expect(sent).toEqual([
    'a.md was created on two peers at once; the other version is kept as a (conflict 1a2b3c).md. Compare the two versions, keep what you want and delete the other',
    'b.md was changed on two peers at once; the other version is kept as b (conflict 4d5e6f).md. Compare the two versions, keep what you want and delete the other',
  ]);
  sent.length = 0;
  for (let i = 0; i <= COPY_NOTICES_ONE_BY_ONE; i++) n.add(`f${i}.md was created on two peers at once; the other version is kept as f${i} (conflict 00000${i}).md`);
  await settle(60);
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatch(new RegExp(`^${COPY_NOTICES_ONE_BY_ONE + 1} files were made or changed on two peers at once .*\\.chorus/daemon\\.log names every one\\. Compare each pair`));
});

it('a stopped daemon sends nothing it had gathered (the log has it)', async () => {
  const sent: string[] = [];
  const n = new CopyNotices((m) => sent.push(m), 20);
  n.add('a.md was created on two peers at once; the other version is kept as a (conflict 1a2b3c).md');
  n.dispose();
  await settle(60);
  expect(sent).toEqual([]);
});
