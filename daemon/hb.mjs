import * as A from '@automerge/automerge/next';
const N = 300, W = 2000;
const base = process.argv[2] === 'big' ? 'x'.repeat(50000) : '';
const us = (s)=>{const u=process.cpuUsage(s); return u.user+u.system;};
async function viaDoc() {
  let a = A.from({text: base}); let b = A.clone(a, {actor: 'bb'});
  let t=0, r=0;
  for (let i=0;i<W+N;i++){
    const s=process.cpuUsage();
    a = A.change(a, d=>A.splice(d,['text'],i,0,'a')); const c = A.getLastLocalChange(a);
    const t1=us(s); const s2=process.cpuUsage();
    const sp=[]; b = A.applyChanges(b,[c],{patchCallback:(p)=>{for(const x of p) sp.push(x)}})[0];
    const r1=us(s2);
    if (i>=W){ t+=t1; r+=r1; await new Promise(r=>setTimeout(r,20)); }
  }
  console.log('doc   typing', (t/N).toFixed(1), 'receiving', (r/N).toFixed(1));
}
async function viaHandle() {
  let a0 = A.from({text: base}); let b0 = A.clone(a0, {actor: 'bb'});
  const a = A.getBackend(a0), b = A.getBackend(b0);
  const ta = a.get('_root','text'), tb = b.get('_root','text');
  a.updateDiffCursor(); b.updateDiffCursor();
  let t=0, r=0;
  for (let i=0;i<W+N;i++){
    const s=process.cpuUsage();
    a.splice(ta, i, 0, 'a'); a.commit(); const c = a.getLastLocalChange(); a.updateDiffCursor();
    const t1=us(s); const s2=process.cpuUsage();
    b.applyChanges([c]); const p = b.diffIncremental();
    const r1=us(s2);
    if (i>=W){ t+=t1; r+=r1; await new Promise(r=>setTimeout(r,20)); }
  }
  if (a.text(ta) !== b.text(tb)) throw new Error('differ');
  console.log('handle typing', (t/N).toFixed(1), 'receiving', (r/N).toFixed(1));
}
await viaDoc(); await viaHandle(); await viaDoc(); await viaHandle();
