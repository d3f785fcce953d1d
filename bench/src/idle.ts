// `npm run bench:idle` (about 2½ minutes per transport): the CPU two Chorus daemons use in a
// session while nobody types (issue 13 target: ≤ 0.2 % of a core each; decision 097).
//
// - The session: real daemons (`chorus share --host 127.0.0.1` on a folder of 20 small files,
//   `chorus join` into an empty one), linked over `--transport websocket` (default) or `webrtc`,
//   no editor activity.
// - Settle `--settle` seconds (default 40: the GC's memory-reducing collections after the join
//   are a one-off, not idling), then each daemon's utime + stime from /proc/PID/stat over
//   `--seconds` (default 60), as % of one core, and its context switches per second (what wakes
//   it: the threads alive through the window; named threads that start or stop in it are listed,
//   e.g. node-datachannel's once an idle peer left WebRTC, decision 106).
// CHORUS_BENCH_CLI=path/to/cli.js measures another build's daemons.

import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectWhenUp, joinCli, removeRoot, share, sleep, stop, tempRoot, waitForMesh, type Transport } from './subjects/chorus.js';
import { numberOption, readOptions, stringOption } from './options.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Process CPU seconds (utime + stime, all threads) of `pid`. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Context switches (voluntary + not) of each thread of `pid`, by thread id: how often it woke. */
function switches(pid: number): Map<string, { name: string; n: number }> {
  const out = new Map<string, { name: string; n: number }>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      const n = Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0);
      out.set(t, { name: /^Name:\s+(.*)$/m.exec(s)?.[1] ?? '?', n });
    } catch {
      /* the thread exited meanwhile */
    }
  }
  return out;
}

/**
 * Wake-ups per second over the window, of threads alive at both ends (a thread that exited in
 * between took its count with it), and the named threads that started or stopped meanwhile.
 */
function wakeups(before: Map<string, { name: string; n: number }>, after: Map<string, { name: string; n: number }>, seconds: number): string {
  let n = 0;
  for (const [t, b] of before) {
    const a = after.get(t);
    if (a) n += a.n - b.n;
  }
  const named = (m: Map<string, { name: string; n: number }>, other: Map<string, { name: string; n: number }>): string[] =>
    [...m].filter(([t, v]) => !other.has(t) && v.name !== 'node').map(([, v]) => v.name);
  const gone = named(before, after);
  const came = named(after, before);
  const changes = [...(gone.length > 0 ? [`stopped: ${gone.join(', ')}`] : []), ...(came.length > 0 ? [`started: ${came.join(', ')}`] : [])];
  return `${(n / seconds).toFixed(1)} wake-ups/s${changes.length > 0 ? ` (threads ${changes.join('; ')})` : ''}`;
}

async function main(): Promise<void> {
  const { values } = readOptions('usage: node bench/dist/idle.js [options]', {
    transport: { type: 'string', help: 'websocket|webrtc  how the two daemons link (default websocket)' },
    settle: { type: 'string', help: 'S  seconds to wait after the link before measuring (default 40)' },
    seconds: { type: 'string', help: 'S  seconds measured (default 60)' },
  });
  const transport = stringOption(values, 'transport', 'websocket') as Transport;
  if (transport !== 'websocket' && transport !== 'webrtc') {
    console.error(`--transport ${transport}: choose websocket or webrtc`);
    process.exit(2);
  }
  const settle = numberOption(values, 'settle', 40);
  const seconds = numberOption(values, 'seconds', 60, 1);
  const root = tempRoot('idle');
  const a = join(root, 'sharer'), b = join(root, 'joiner');
  try {
    mkdirSync(a);
    for (let i = 0; i < 20; i++) writeFileSync(join(a, `f${i}.txt`), `file ${i}\n`);
    await joinCli(await share(a, transport), b, transport);
    const eds = [await connectWhenUp(a), await connectWhenUp(b)];
    let pids: number[];
    try {
      await waitForMesh(eds, transport);
      pids = await Promise.all(eds.map(async (e) => (await e.status()).pid as number));
    } finally {
      for (const e of eds) e.close(); // no editor while idling
    }
    process.stderr.write(`linked over ${transport}; settling ${settle} s, then measuring ${seconds} s…\n`);
    await sleep(settle * 1000);
    const c0 = pids.map(cpuSeconds), s0 = pids.map(switches), t0 = performance.now();
    await sleep(seconds * 1000);
    const dt = (performance.now() - t0) / 1000;
    const row = (i: number): string => `${(((cpuSeconds(pids[i]!) - c0[i]!) / dt) * 100).toFixed(3)} % of a core, ${wakeups(s0[i]!, switches(pids[i]!), dt)}`;
    console.log(`idle over ${transport}, ${dt.toFixed(0)} s: sharer ${row(0)}; joiner ${row(1)}`);
  } finally {
    await Promise.all([stop(a), stop(b)]);
    removeRoot(root);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
