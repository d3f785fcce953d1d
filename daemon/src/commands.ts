/** What each CLI command does. Exit codes: 0 done, 1 failed, 3 a daemon already runs, 4 none runs. */
import fs from 'node:fs';
import * as P from '@chorus/protocol';
import { cliConnection } from './lifecycle/rpc-client.js';
import { connectSocket, ensureDaemon, findProject, runningPid } from './lifecycle/daemon-process.js';

export const EXIT_ALREADY_RUNNING = 3;
export const EXIT_NOT_RUNNING = 4;

function fail(message: string, code = 1): never {
  process.stderr.write(`chorus: ${message}\n`);
  process.exit(code);
}

export async function daemon(dir: string | undefined, opts: { name?: string }): Promise<void> {
  const project = findProject(dir);
  const { AlreadyRunning, Daemon } = await import('./daemon.js');
  let d: import('./daemon.js').Daemon;
  try {
    d = await Daemon.start({ dir: project.root, ...(opts.name ? { name: opts.name } : {}) });
  } catch (e) {
    if (e instanceof AlreadyRunning) fail(`${e.message}; stop it with \`chorus stop ${project.root}\``, EXIT_ALREADY_RUNNING);
    throw e;
  }
  let signalled = false;
  const stop = (sig: string) => {
    if (signalled) return;
    signalled = true;
    d.log(`received ${sig}`);
    void d.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

export interface ShareFlags {
  json?: boolean;
  host?: string;
  port?: number;
  relay?: string;
  readOnly?: boolean;
  webrtc: boolean;
}

export async function share(dir: string | undefined, flags: ShareFlags): Promise<void> {
  const project = findProject(dir);
  const socket = await ensureDaemon(project);
  const conn = await cliConnection(socket);
  const params: P.ParamsOf<typeof P.SessionShare> = {};
  if (flags.host !== undefined) params.host = flags.host;
  if (flags.port !== undefined) params.port = flags.port;
  if (flags.relay !== undefined) params.relay = flags.relay;
  if (flags.readOnly) params.readOnly = true;
  if (!flags.webrtc) params.webrtc = false;
  const { code } = await conn.sendRequest(P.SessionShare.type, params).catch((e: Error) => fail(e.message));
  conn.dispose();
  socket.destroy();
  if (flags.json) process.stdout.write(JSON.stringify({ code, root: project.root }) + '\n');
  else process.stdout.write(`Sharing ${project.root}${flags.readOnly ? ' (read-only for guests)' : ''}.\nOthers join with:\n\n  chorus join ${code} <folder>\n\n`);
}

export interface JoinFlags {
  json?: boolean;
  disk: boolean;
  host?: string;
  port?: number;
  webrtc: boolean;
}

export async function join(code: string, dir: string | undefined, flags: JoinFlags): Promise<void> {
  const target = dir ?? process.cwd();
  fs.mkdirSync(target, { recursive: true });
  const project = findProject(target);
  const socket = await ensureDaemon(project);
  const conn = await cliConnection(socket);
  let last = 0;
  conn.onNotification(P.SessionProgress.type, (p) => {
    if (flags.json || Date.now() - last < 250) return;
    last = Date.now();
    const mb = (n: number) => (n / 1e6).toFixed(1);
    process.stderr.write(p.phase === 'connecting' ? 'connecting to the session…\n' : `${p.phase}: ${p.files}/${p.filesTotal} files, ${mb(p.bytes)}/${mb(p.bytesTotal)} MB\n`);
  });
  const params: P.ParamsOf<typeof P.SessionJoin> = { code, disk: flags.disk };
  if (!flags.webrtc) params.webrtc = false;
  if (flags.host !== undefined) params.host = flags.host;
  if (flags.port !== undefined) params.port = flags.port;
  const started = Date.now();
  const r = await conn.sendRequest(P.SessionJoin.type, params).catch((e: Error) => fail(e.message));
  conn.dispose();
  socket.destroy();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (flags.json) process.stdout.write(JSON.stringify({ ...r, root: project.root, seconds: Number(secs) }) + '\n');
  else process.stdout.write(`Joined: ${r.files} file${r.files === 1 ? '' : 's'}, ${(r.bytes / 1e6).toFixed(1)} MB in ${project.root}${flags.disk ? '' : ' (view mode: nothing written to disk)'} after ${secs} s.\n`);
}

export async function relay(opts: { host: string; port: number }): Promise<void> {
  const { startRelay } = await import('./net/relay-server.js');
  const handle = await startRelay({ host: opts.host, port: opts.port, log: (m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`) });
  process.stderr.write(`chorus relay listening on ${handle.url}; share with --relay ${handle.url}\n`);
  const stop = () => void handle.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export async function connect(dir: string | undefined): Promise<void> {
  const project = findProject(dir);
  const socket = await ensureDaemon(project);
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  process.stdin.on('end', () => socket.end());
  socket.on('close', () => {
    if (!process.stdin.readableEnded) process.stderr.write(`chorus: the daemon for ${project.root} went away\n`);
    process.exit(process.stdin.readableEnded ? 0 : 1);
  });
  socket.on('error', (e) => fail(`lost the daemon for ${project.root}: ${e.message}`));
}

async function connectExisting(dir: string | undefined) {
  const project = findProject(dir);
  try {
    return { project, socket: await connectSocket(project.socketPath) };
  } catch {
    fail(`no daemon running for ${project.root}; start one with \`chorus daemon ${project.root}\``, EXIT_NOT_RUNNING);
  }
}

export async function status(dir: string | undefined, opts: { json?: boolean }): Promise<void> {
  const { socket } = await connectExisting(dir);
  const conn = await cliConnection(socket);
  const st = await conn.sendRequest(P.SessionStatus.type, undefined);
  conn.dispose();
  socket.destroy();
  if (opts.json) {
    process.stdout.write(JSON.stringify(st) + '\n');
    return;
  }
  const lines = [
    `project   ${st.root}`,
    `daemon    chorus ${st.version}, pid ${st.pid}, protocol ${st.protocolVersion}`,
    `you       ${st.peer.name} (${st.peer.color})`,
    `session   ${st.session ? `${st.session.role === 'host' ? 'sharing' : 'joined'}${st.session.readOnly ? ', read-only' : ''}` : 'not shared (chorus share to invite others)'}`,
    `editors   ${st.editors.length ? st.editors.map((e) => `${e.name} [${e.positionEncoding}]`).join(', ') : 'none'}`,
    `buffers   ${st.buffers.length ? st.buffers.map((b) => `${b.path} (${b.editors} editor${b.editors === 1 ? '' : 's'})`).join(', ') : 'none'}`,
    `peers     ${st.peers.length ? '' : 'none'}`,
    ...st.peers.map((p) => `  ${p.name} ${p.id.slice(0, 8)} via ${p.path ?? '?'} ${p.state ?? ''}${p.rttMs !== undefined ? ` rtt ${p.rttMs.toFixed(1)} ms` : ''}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export async function stop(dir: string | undefined): Promise<void> {
  const project = findProject(dir);
  const pid = runningPid(project);
  if (pid === undefined) {
    process.stderr.write(`chorus: no daemon running for ${project.root}\n`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10000;
  while (runningPid(project) === pid) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      fail(`the daemon (pid ${pid}) did not stop within 10 s and was killed`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stderr.write(`chorus: stopped the daemon for ${project.root} (pid ${pid})\n`);
}
