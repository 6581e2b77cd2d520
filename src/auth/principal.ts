/** Who is asking. Built once per request by AuthService.authenticate; services only ever see this. */
export type Principal =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      userId: number;
      username: string;
      isAdmin: boolean;
      via: 'password' | 'token' | 'session';
      tokenId?: number;
      /** The ui_sessions id (a hash, not the cookie secret) when via is 'session'. */
      sessionId?: string;
    };

export type Access = 'read' | 'write' | 'admin';

/** What a request carries that can identify its sender; taken from the request by the HTTP layer. */
export interface RequestCredentials {
  authorization: string | null;
  cookie: string | null;
  clientAddress: string;
  /** The HTTP method; a session cookie on anything but GET/HEAD/OPTIONS needs csrfToken. Empty: treated as unsafe. */
  method?: string;
  /** The CSRF token the request presents (X-CSRF-Token header, or a form field the UI read). */
  csrfToken?: string | null;
}

export const ANONYMOUS: Principal = { kind: 'anonymous' };
