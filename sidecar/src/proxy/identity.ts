/**
 * What the application learns about the caller, from an allowing decision: the client ID, the
 * caller's roles that exist here, and the admin ID of the role whose permission matched.
 */
import type { Decision } from '../pipeline/decide.js';
import type { Identity } from './upstream-headers.js';

export interface CallerFacts {
  identity: Identity;
  adminId?: string;
  permission?: string;
}

/** `adminIdByRole` maps role names of the config in force to their admin IDs. */
export function callerFacts(decision: Decision, adminIdByRole: ReadonlyMap<string, string>): CallerFacts {
  const principal = decision.principal;
  const roles = principal?.roles ?? [];
  const matchedRole = decision.matched?.role;
  const adminId = matchedRole === undefined ? undefined : adminIdByRole.get(matchedRole);
  const identity: Identity = { roles };
  if (principal?.clientId !== undefined) identity.clientId = principal.clientId;
  if (adminId !== undefined) identity.adminId = adminId;
  const facts: CallerFacts = { identity };
  if (adminId !== undefined) facts.adminId = adminId;
  if (decision.matched?.permission !== undefined) facts.permission = decision.matched.permission;
  return facts;
}
