import type { Principal, RequestCredentials } from '../auth/principal';
import type { Actor } from '../repos/repository';

/** The minimal part of Bun's Server that we use; absent when a test calls app.handle(). */
export interface AddressSource {
  requestIP(request: Request): { address: string } | null;
}

export function clientAddressOf(request: Request, server: AddressSource | null | undefined): string {
  try {
    return server?.requestIP(request)?.address ?? 'local';
  } catch {
    return 'local';
  }
}

export function credentialsOf(request: Request, server: AddressSource | null | undefined): RequestCredentials {
  return {
    authorization: request.headers.get('authorization'),
    cookie: request.headers.get('cookie'),
    clientAddress: clientAddressOf(request, server),
    method: request.method,
    csrfToken: request.headers.get('x-csrf-token'),
  };
}

export function actorOf(principal: Principal, clientAddress: string): Actor {
  return { username: principal.kind === 'user' ? principal.username : null, clientAddress };
}
