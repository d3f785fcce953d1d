/**
 * Which documents belong to the shared project: a saved file (`file:` URI) inside the project
 * root whose relative path the path rules allow. Untitled documents, other schemes (git diffs,
 * output panes, settings) and files outside the project are never shared.
 */
import path from 'node:path';
import fs from 'node:fs';
import { CHORUS_DIR, isProjectPath } from '../../../daemon/src/workspace/path-rules.js';

/** The project path (relative, `/`-separated) of a document, or undefined when it is not shared. */
export function projectPathOf(root: string, uri: { scheme: string; fsPath: string }): string | undefined {
  if (uri.scheme !== 'file') return undefined;
  const rel = path.relative(root, uri.fsPath);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const p = rel.split(path.sep).join('/');
  return isProjectPath(p) ? p : undefined;
}

/** The file a project path names, in the project at `root`. */
export function fileOf(root: string, projectPath: string): string {
  return path.join(root, ...projectPath.split('/'));
}

/**
 * The Chorus project a folder belongs to: the folder itself or its nearest ancestor holding a
 * `.chorus/` folder; undefined when none does (nothing is shared until Chorus: Share or Join).
 */
export function findProjectRoot(folder: string): string | undefined {
  for (let dir = path.resolve(folder); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, CHORUS_DIR))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}
