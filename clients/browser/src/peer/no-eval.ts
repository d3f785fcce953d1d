/**
 * zod (the core's index schema) compiles validators with `new Function` unless told not to, and
 * decides so when a schema is built — at import time. The page's policy forbids eval, so this
 * module runs before any other import of the page (main.ts imports it first).
 */
import { config } from 'zod/mini';

config({ jitless: true });
