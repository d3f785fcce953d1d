/** A real daemon process (as `chorus daemon` runs it), for tests that kill one mid-work. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CLI } from './paths.js';
import { ScriptedEditor } from './scripted-editor.js';

/**
 * Start `chorus daemon dir --name name` and connect a ScriptedEditor to its socket once it
 * listens (up to 30 s). The process and the editor go into `procs` and `editors`, which the
 * caller's afterEach closes and stops. Throws with the end of the daemon's stderr if it does not
 * start.
 */
export async function daemonProcess(dir: string, name: string, procs: ChildProcess[], editors: ScriptedEditor[]): Promise<{ proc: ChildProcess; editor: ScriptedEditor }> {
  const proc = spawn(process.execPath, [CLI, 'daemon', dir, '--name', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  const end = Date.now() + 30000;
  for (;;) {
    try {
      const editor = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'));
      editors.push(editor);
      await editor.init();
      return { proc, editor };
    } catch {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`the daemon did not start: ${err.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
