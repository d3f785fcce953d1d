import * as A from '@automerge/automerge/next';
let a0 = A.from({text: ''}); const a = A.getBackend(a0);
console.log(a.get('_root','text'), a.getWithType?.('_root','text'), a.objInfo?.('_root'));
