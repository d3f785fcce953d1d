/**
 * Syntax highlighting by file name, from @codemirror/language-data. Each language's parser loads
 * on first use (a dynamic import the page's bundle serves from its own origin: with esbuild's
 * code splitting it is a separate chunk, without it the code is already in page.js).
 */
import type { LanguageSupport } from '@codemirror/language';
import { LanguageDescription } from '@codemirror/language';
import { languages } from '@codemirror/language-data';
import { baseName } from './dom.js';

/** A language for a file: its display name and the loaded support. */
export interface LoadedLanguage {
  name: string;
  support: LanguageSupport;
}

/** The language a file's name says it is in, or undefined (plain text). */
export function describeLanguage(path: string): LanguageDescription | undefined {
  return LanguageDescription.matchFilename(languages, baseName(path)) ?? undefined;
}

/** Load the language for `path`; undefined for plain text or when its parser failed to load. */
export async function loadLanguage(path: string): Promise<LoadedLanguage | undefined> {
  const description = describeLanguage(path);
  if (!description) return undefined;
  try {
    return { name: description.name, support: await description.load() };
  } catch {
    return undefined; // a chunk that failed to load leaves the file as plain text, still editable
  }
}
