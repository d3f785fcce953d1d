// scratch: perf record both daemons over N paced keystrokes
import { spawn } from 'node:child_process';
import { chorusSubject } from './dist/subjects/chorus.js';
import { keystrokeArray, loadTrace } from './dist/traces.js';
const trace = loadTrace(new URL(`../test/fixtures/traces/automerge-paper.json.gz`, import.meta.url).pathname);
const keys = keystrokeArray(trace).filter((k) => k.del > 0 || k.insert.length > 0);
const s = await chorusSubject('websocket', 'quick').setup({ peers: 2, start: { label: 'young', trace, history: [], text: trace.startContent } });
let arrived = 0; s.onArrival((r, n) => { arrived = n; });
const W = Number(process.argv[3] ?? 300);
for (let i = 0; i < W; i++) { const p = s.type(keys[i]); if (p) await p; while (arrived < i + 1) await new Promise((r) => setTimeout(r, 1)); }
await new Promise((r) => setTimeout(r, 1500));
const { sender, receivers } = s.processes();
const N = Number(process.argv[2] ?? 300);
const st = [sender, receivers[0]].map((pid, i) => spawn('perf', ['record', '-F', '2000', '-g', '-p', String(pid), '-o', `/tmp/perf-${i ? 'recv' : 'send'}.data`], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 1000));
for (let i = W; i < W + N; i++) { await new Promise((r) => setTimeout(r, 33)); const p = s.type(keys[i]); if (p) await p; }
while (arrived < W + N) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 300));
for (const p of st) p.kill('SIGINT');
await new Promise((r) => setTimeout(r, 2000));
await s.close();
process.exit(0);
