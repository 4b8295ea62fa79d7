/**
 * COLLECTION_STALE when no record from the account reached the downstream for longer than the limit (counted
 * from registration when none ever did). CloudTrail delivers every few minutes while anything happens in an
 * account, so hours of silence mean the chain or the ingest is broken somewhere the observe step cannot see.
 */
import { finding, none, type Rule } from './kit';

export const stalenessRule: Rule = {
  name: 'staleness',
  part: 'account',
  phase: 'account',
  codes: ['COLLECTION_STALE'],
  description: 'no record from the account reached the downstream for longer than STALE_AFTER_MINUTES',
  check({ ctx }) {
    const { staleAfterMinutes, registeredAt, lastRecordAt } = ctx;
    if (staleAfterMinutes === undefined || registeredAt === undefined) return none();
    const since = lastRecordAt ?? registeredAt;
    const silentMinutes = (ctx.now.getTime() - Date.parse(since)) / 60_000;
    if (!(silentMinutes > staleAfterMinutes)) return none();
    const what = lastRecordAt
      ? `the last record arrived at ${lastRecordAt}`
      : `no record has arrived since registration (${registeredAt})`;
    return {
      findings: [
        finding(
          'COLLECTION_STALE',
          'medium',
          ctx.accountId,
          `${what}: more than ${staleAfterMinutes} minutes without data from this account`,
        ),
      ],
      actions: [],
    };
  },
};
