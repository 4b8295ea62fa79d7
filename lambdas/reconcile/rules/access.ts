/**
 * The gates before any chain rule: the customer role must have been assumed, and the account's trails read.
 * Without the role nothing was observed; without the trail list nothing can be decided safely (AccessDenied is
 * not "no trail").
 */
import { finding, none, type Rule } from './kit';

/** ROLE_UNASSUMABLE: the role could not be assumed; nothing else is planned, reported or recorded. */
export const roleRule: Rule = {
  name: 'role',
  part: 'account',
  phase: 'chain',
  codes: ['ROLE_UNASSUMABLE'],
  description: 'the customer role cannot be assumed (stack missing, wrong ExternalId, trust policy changed)',
  check({ observed }) {
    const error = observed.roleError;
    if (error === undefined) return none();
    return {
      findings: [
        finding(
          'ROLE_UNASSUMABLE',
          'high',
          error.roleArn,
          `${error.message}; check that the customer role stack is deployed with this ExternalId`,
        ),
      ],
      actions: [],
      stop: 'plan',
    };
  },
};

/** OBSERVE_INCOMPLETE (high) when the account's trails could not be read: no chain rule runs. */
export const trailListRule: Rule = {
  name: 'trail-list',
  part: 'account',
  phase: 'chain',
  codes: ['OBSERVE_INCOMPLETE'],
  description: "the account's trails could not be read, so nothing is decided or changed",
  check({ observed, ctx }) {
    if (observed.trails.known) return none();
    return {
      findings: [
        finding(
          'OBSERVE_INCOMPLETE',
          'high',
          ctx.accountId,
          `the account's trails could not be read (${observed.trails.error}); nothing is changed`,
        ),
      ],
      actions: [],
      stop: 'chain',
    };
  },
};
