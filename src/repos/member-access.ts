import type { RepositoryRow } from '../db/schema';

/**
 * Whether the caller may read one member of a group: resolves when it may, rejects with Unauthorized
 * (an anonymous caller) or Forbidden (a known one) when it may not. The HTTP layer builds it from the
 * request's principal and the permission service, so a group asks this one question and knows no principal.
 */
export type MayReadMember = (row: RepositoryRow) => Promise<void>;

/** Reads on the server's own behalf (tests, internal tools): every member is readable. */
export const EVERY_MEMBER: MayReadMember = async () => {};

/**
 * The same question asked of memory alone: true when the caller may read the member and that is known
 * without an await (anonymous read, an administrator, a grant already held), undefined when only
 * MayReadMember can tell (a denial included). Lets a warm group answer be taken without an await.
 */
export type MayReadMemberNow = (row: RepositoryRow) => true | undefined;

export const EVERY_MEMBER_NOW: MayReadMemberNow = () => true;
