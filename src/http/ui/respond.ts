import type { Html } from './html';

/**
 * Pages load only this server's own script and stylesheet: no inline script or style is allowed, so
 * markup that slipped past escaping still could not run.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  // Pages show per-user data and CSRF tokens: never cache them.
  'Cache-Control': 'no-store',
};

function withCookies(headers: Headers, setCookies: string[]): Headers {
  for (const c of setCookies) headers.append('Set-Cookie', c);
  return headers;
}

export function htmlResponse(body: Html, opts: { status?: number; setCookies?: string[] } = {}): Response {
  const headers = new Headers({ ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' });
  return new Response(`<!doctype html>\n${body.value}`, {
    status: opts.status ?? 200,
    headers: withCookies(headers, opts.setCookies ?? []),
  });
}

/** 303 after a POST, so reloading the next page does not repeat the action. */
export function redirect(location: string, setCookies: string[] = []): Response {
  const headers = new Headers({ Location: location, 'Cache-Control': 'no-store' });
  return new Response(null, { status: 303, headers: withCookies(headers, setCookies) });
}
