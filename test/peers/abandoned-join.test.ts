// A daemon stopped while its join is under way (the join interrupted, or `chorus stop`) tells the
// session so: its peers forget it at once, where they listed it as left, or (with no goodbye)
// as reconnecting, for as long as they ran (user trial; decision 161). Real daemons on loopback.
import { expect, it } from 'vitest';
import { startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';

it('a member whose join stopped before it was in is forgotten by its peers at once, not listed as left', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`d/f${i}.txt`] = `file ${i} `.repeat(3000);
  const A = await startDaemon(tempProject(files), 'alice');
  const B = await startDaemon(tempProject(), 'bob');
  try {
    const code = await A.share({ host: '127.0.0.1', webrtc: false });
    let finished = false;
    // Not awaited: stopped under it, the join's promise ends only with its minute of silence.
    void B.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined)
      .then(() => (finished = true))
      .catch(() => undefined);
    for (let i = 0; i < 600 && !A.session.peers().some((p) => p.state === 'connected'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(A.session.peers().map((p) => p.state)).toEqual(['connected']);
    expect(finished).toBe(false); // the join is under way: this tests an abandoned one
    await B.stop();
    for (let i = 0; i < 400 && A.session.peers().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    // Before the fix: [{ state: 'left' }] for as long as A ran.
    expect(A.session.peers()).toEqual([]);
  } finally {
    await Promise.all([A.stop(), B.stop()]);
  }
}, 60_000);
