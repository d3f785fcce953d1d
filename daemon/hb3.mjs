import * as A from '@automerge/automerge/next';
const mode = process.argv[2];
let a0 = A.from({text: ''}); const a = A.getBackend(a0); const t = a.get('_root','text');
const rss = () => (process.memoryUsage().rss/1e6).toFixed(0);
console.log('start', rss());
const s = process.cpuUsage();
for (let i=0;i<60000;i++){ a.splice(t, i, 0, 'a'); a.commit(undefined, 0); a.getLastLocalChange(); if (mode==='cursor') a.updateDiffCursor(); if (mode==='reset') a.resetDiffCursor(); }
const u = process.cpuUsage(s);
console.log(mode, 'rss', rss(), 'us/op', ((u.user+u.system)/60000).toFixed(1));
const s2 = process.cpuUsage();
a0 = A.applyChanges(a0, [])[0];
const u2 = process.cpuUsage(s2);
console.log('catchup', ((u2.user+u2.system)/1000).toFixed(1), 'ms', a0.text.length, 'rss', rss());
