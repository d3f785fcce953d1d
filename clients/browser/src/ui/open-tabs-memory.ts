/**
 * The open tabs of this browser tab, kept across a reload (sessionStorage: per browser tab, gone
 * when it closes), so a reload comes back to the same files. Paths only; never text.
 */

const KEY = 'chorus.tabs';

/** What was open: the paths in tab order and the active one. */
export interface OpenTabs {
  paths: string[];
  active?: string;
}

/** Remember the open tabs (best effort: storage may be disabled). */
export function rememberTabs(tabs: OpenTabs): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(tabs));
  } catch {
    // Disabled or full: a reload then starts with no tabs, nothing else changes.
  }
}

/** The tabs open before a reload, or none. */
export function rememberedTabs(): OpenTabs {
  try {
    const raw: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (raw && typeof raw === 'object' && Array.isArray((raw as OpenTabs).paths)) {
      const { paths, active } = raw as OpenTabs;
      return { paths: paths.filter((p): p is string => typeof p === 'string').slice(0, 50), ...(typeof active === 'string' ? { active } : {}) };
    }
  } catch {
    // Unreadable: start with no tabs.
  }
  return { paths: [] };
}
