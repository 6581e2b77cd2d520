import type { RouteKind } from './metrics';

/** The route kind and repository of a path below the mount prefix (`/go/{repo}/…`, `/api/v1/…`, UI pages). */
export function classifyPath(path: string, method: string): { kind: RouteKind; repository?: string } {
  if (path.startsWith('/go/')) {
    const slash = path.indexOf('/', 4);
    const repository = slash > 4 ? decodeSafe(path.slice(4, slash)) : undefined;
    const rest = slash > 0 ? path.slice(slash + 1) : '';
    if (method === 'PUT') return { kind: 'upload', repository };
    if (rest.startsWith('sumdb/')) return { kind: 'sumdb', repository };
    if (rest.endsWith('/@v/list')) return { kind: 'list', repository };
    if (rest.endsWith('/@latest')) return { kind: 'latest', repository };
    const ext = /\.(info|mod|zip)$/.exec(rest)?.[1] as 'info' | 'mod' | 'zip' | undefined;
    return { kind: ext ?? 'other', repository };
  }
  if (path.startsWith('/api/') || path === '/swagger' || path.startsWith('/swagger/')) {
    const m = /^\/api\/v1\/repositories\/([^/]+)/.exec(path);
    return { kind: 'api', repository: m ? decodeSafe(m[1]) : undefined };
  }
  if (path === '/metrics' || path === '/health' || path === '/ready') return { kind: 'other' };
  const m = /^\/repositories\/([^/]+)/.exec(path);
  return { kind: 'ui', repository: m && m[1] !== 'new' ? decodeSafe(m[1]) : undefined };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
