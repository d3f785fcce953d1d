/**
 * Which ignore rules of this folder a peer's change to a `.gitignore` stopped applying, so that
 * they keep applying here from `.chorus/ignore` (decision 164). Without this, a guest who wrote
 * `!*.log` into the shared `.gitignore` made every log the host created afterwards travel to the
 * whole session: the files present then were kept (decision 136), the rules were not.
 */

/** The rules of a `.gitignore`'s text: its lines that are neither blank nor comments, as gitignore reads them. */
export function ruleLines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    // gitignore drops trailing spaces unless the last one is escaped.
    const line = raw.endsWith('\\ ') ? raw.replace(/(\\ ) +$/, '$1') : raw.replace(/[ \t]+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    out.push(line);
  }
  return out;
}

/**
 * The project path a pattern of the `.gitignore` in `dir` names literally (`*.log` → `sub/*.log`),
 * for asking rules whether they ignore what the pattern matches: a pattern's own text is matched
 * by its wildcards, so rules that ignore it ignore (at least some of) what it names.
 */
function literalPath(dir: string, pattern: string): string {
  const own = pattern.replace(/^\//, '');
  return dir ? `${dir}/${own}` : own;
}

/**
 * A pattern of the `.gitignore` in `dir`, written as a rule of the project root (the form
 * `.chorus/ignore` reads): a pattern with a slash before its end is anchored to its folder,
 * one without matches at any depth below it.
 */
export function asRootRule(dir: string, pattern: string): string {
  if (!dir) return pattern;
  const anchored = pattern.replace(/\/$/, '').includes('/');
  return anchored ? `/${dir}/${pattern.replace(/^\//, '')}` : `/${dir}/**/${pattern}`;
}

/**
 * The rules this folder held for the `.gitignore` in `dir` (`own`, its text) that the text it has
 * now (`now`) stops applying: rules it removed, and the patterns of rules it negates that `own`
 * did not (`!*.log`). Each is kept when the rules before the change ignored what it names and the
 * rules now do not (`ignoredBefore`, `ignoredNow`: the whole rule sets, built-in and
 * `.chorus/ignore` included, so a rule that still applies some other way is not added twice).
 * Returned as rules of the project root, for `.chorus/ignore`.
 */
export function rulesToKeep(
  dir: string,
  own: string,
  now: string,
  ignoredBefore: (rel: string) => boolean,
  ignoredNow: (rel: string) => boolean,
): string[] {
  const ownLines = ruleLines(own);
  const nowLines = new Set(ruleLines(now));
  const removed = ownLines.filter((l) => !l.startsWith('!') && !nowLines.has(l));
  const had = new Set(ownLines);
  const negated = [...nowLines].filter((l) => l.startsWith('!') && !had.has(l)).map((l) => l.slice(1));
  const kept: string[] = [];
  for (const pattern of [...removed, ...negated]) {
    if (pattern === '' || pattern === '/') continue;
    const rel = literalPath(dir, pattern);
    let stopped: boolean;
    try {
      stopped = ignoredBefore(rel) && !ignoredNow(rel);
    } catch {
      stopped = true; // a pattern no path spells: keeping the rule errs on the private side
    }
    if (stopped) kept.push(asRootRule(dir, pattern));
  }
  return [...new Set(kept)];
}
