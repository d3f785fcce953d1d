// scratch: throughput of chorus-websocket vs floor on one trace prefix
import { measureThroughput } from './dist/harness.js';
import { chorusSubject } from './dist/subjects/chorus.js';
import { automerge2 } from './dist/subjects/automerge.js';
import { keystrokeArray, loadTrace, textAfter } from './dist/traces.js';
const name = process.argv[2] ?? 'automerge-paper';
const limit = Number(process.argv[3] ?? 6000);
const trace = loadTrace(new URL(`../test/fixtures/traces/${name}.json.gz`, import.meta.url).pathname);
const keys = keystrokeArray(trace).slice(0, limit);
const start = { label: 'young', trace, history: [], text: trace.startContent };
const exp = (n) => textAfter(trace, n);
const f = await measureThroughput(automerge2, start, keys, exp, 2);
const c = await measureThroughput(chorusSubject('websocket', 'quick'), start, keys, exp, 2);
console.log(name, 'floor', Math.round(f.keystrokesPerSecond), 'chorus', Math.round(c.keystrokesPerSecond), 'ratio', (c.keystrokesPerSecond / f.keystrokesPerSecond).toFixed(3), 'verified', c.verified);
process.exit(0);
