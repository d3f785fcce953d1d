/**
 * Set-up run before every test file (vitest `setupFiles`), in whichever process runs it: what each
 * file needs done after it, whether it had a process of its own or shared one (decision 209).
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './project-dir.js';

afterAll(removeTempDirs);
