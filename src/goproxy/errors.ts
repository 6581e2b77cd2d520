/**
 * Errors raised by the Go module protocol rules. Every one of them means "the
 * client (or an upstream) sent something the protocol forbids". The HTTP layer
 * (src/errors.ts toAppError) maps the family to 400, except a request path that
 * is no protocol path at all (GoRequestError with status 404). Where the bytes
 * came from an upstream, the repository turns the error into a 502 instead.
 *
 * `rule` is a short stable id (e.g. "path-dot-element") that tests and logs can
 * match on; `message` is one plain line for people.
 */
export class GoProtocolError extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidPathError extends GoProtocolError {}

export class InvalidVersionError extends GoProtocolError {}

export class InvalidGoModError extends GoProtocolError {}

export class InvalidZipError extends GoProtocolError {
  constructor(
    rule: string,
    message: string,
    /** Full zip entry name (with the module@version/ prefix) the refusal is about, if any. */
    readonly entry?: string,
  ) {
    super(rule, message);
  }
}
