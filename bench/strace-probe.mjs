// scratch: syscalls per keystroke of each daemon at 30/s
import { spawn } from 'node:child_process';
import { chorusSubject } from './dist/subjects/chorus.js';
import { keystrokeArray, loadTrace } from './dist/traces.js';
const trace = loadTrace(new URL(`../test/fixtures/traces/automerge-paper.json.gz`, import.meta.url).pathname);
const keys = keystrokeArray(trace).filter((k) => k.del > 0 || k.insert.length > 0);
const s = await chorusSubject('websocket', 'quick').setup({ peers: 2, start: { label: 'young', trace, history: [], text: trace.startContent } });
let arrived = 0; s.onArrival((r, n) => { arrived = n; });
for (let i = 0; i < 300; i++) { const p = s.type(keys[i]); if (p) await p; }
while (arrived < 300) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 1500));
const { sender, receivers } = s.processes();
const N = Number(process.argv[2] ?? 300);
const st = [sender, receivers[0]].map((pid, i) => spawn('strace', [...(process.env.TRACE ? ['-e', process.env.TRACE, '-tt'] : ['-c']), '-f', '-p', String(pid), '-o', `/tmp/strace-${i ? 'recv' : 'send'}.txt`], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 1000));
for (let i = 300; i < 300 + N; i++) { await new Promise((r) => setTimeout(r, 33)); const p = s.type(keys[i]); if (p) await p; }
while (arrived < 300 + N) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 500));
for (const p of st) p.kill('SIGINT');
await new Promise((r) => setTimeout(r, 1000));
await s.close();
process.exit(0);
