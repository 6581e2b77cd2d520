import type { TestApp } from '../support/app';

/** The hidden `_csrf` value of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('the page has no CSRF field');
  return m[1];
}

/** `name=value` of one Set-Cookie header, by cookie name. */
export function setCookie(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

export const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
  return p;
};

/** A browser's worth of state against app.handle: a cookie jar and the page's CSRF token. */
export class UiClient {
  private readonly jar = new Map<string, string>();

  constructor(
    private readonly t: TestApp,
    cookie: string,
    public csrf: string,
  ) {
    this.remember([cookie]);
  }

  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Keeps cookies as a browser would: set by Set-Cookie, dropped by Max-Age=0. */
  private remember(setCookies: string[]): void {
    for (const c of setCookies) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (/Max-Age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1));
    }
  }

  async get(path: string): Promise<Response> {
    const res = await this.t.request(path, { headers: { cookie: this.cookie }, redirect: 'manual' });
    this.remember(res.headers.getSetCookie());
    return res;
  }

  async page(path: string): Promise<{ status: number; html: string; res: Response }> {
    const res = await this.get(path);
    return { status: res.status, html: await res.text(), res };
  }

  /** POSTs a form with this session's CSRF token unless `csrf` is given (or null: none at all). */
  async post(path: string, fields: Record<string, string | string[]>, opts: { csrf?: string | null } = {}): Promise<Response> {
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    const body = form(csrf === null ? fields : { _csrf: csrf, ...fields });
    const res = await this.t.request(path, {
      method: 'POST',
      headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    this.remember(res.headers.getSetCookie());
    return res;
  }
}

/** Signs in through the form as a browser would: GET the form (login CSRF cookie), POST it back. */
export async function signIn(t: TestApp, username: string, password: string): Promise<UiClient> {
  const loginPage = await t.request('/login');
  const loginCookie = setCookie(loginPage, 'orbit_login_csrf')!.split(';')[0];
  const res = await t.request('/login', {
    method: 'POST',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ _csrf: csrfOf(await loginPage.text()), username, password }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in as ${username} answered ${res.status}`);
  const cookie = setCookie(res, 'orbit_session')!.split(';')[0];
  const home = await t.request('/', { headers: { cookie } });
  return new UiClient(t, cookie, csrfOf(await home.text()));
}
