import type { Principal, RequestCredentials } from '../auth/principal';
import { scopeOf } from '../observability/request-scope';
import type { Actor } from '../repos/repository';

/** The minimal part of Bun's Server that we use; absent when a test calls app.handle(). */
export interface AddressSource {
  requestIP(request: Request): { address: string } | null;
}

/**
 * The client's address for logs, audit and sign-in throttling: as the request's scope settled it (behind a
 * trusted proxy, from X-Forwarded-For), else the peer's.
 */
export function clientAddressOf(request: Request, server: AddressSource | null | undefined): string {
  return scopeOf(request)?.clientAddress || peerOf(request, server);
}

/** The peer's address; a test driving app.handle() has no server and no peer. */
export function peerOf(request: Request, server: AddressSource | null | undefined): string {
  try {
    return server?.requestIP(request)?.address ?? 'local';
  } catch {
    return 'local';
  }
}

/** The request's credentials; the client's address is read when asked (a failed sign-in), not for every request. */
export function credentialsOf(request: Request, server: AddressSource | null | undefined): RequestCredentials {
  let address: string | undefined;
  return {
    authorization: request.headers.get('authorization'),
    cookie: request.headers.get('cookie'),
    get clientAddress() {
      address ??= clientAddressOf(request, server);
      return address;
    },
    method: request.method,
    csrfToken: request.headers.get('x-csrf-token'),
  };
}

/** The access-log line names who asked (a user name, never a credential). */
export function notePrincipal(request: Request, principal: Principal): void {
  const scope = scopeOf(request);
  if (scope && principal.kind === 'user') scope.user = principal.username;
}

export function actorOf(principal: Principal, clientAddress: string): Actor {
  return { username: principal.kind === 'user' ? principal.username : null, clientAddress };
}
