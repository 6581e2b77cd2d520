/** An incoming X-Request-Id is kept when it is short printable text, so a log line can never be forged or flooded through it. */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdFrom(header: string | null): string {
  return header && SANE_ID.test(header) ? header : crypto.randomUUID();
}
