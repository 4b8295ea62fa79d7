/**
 * The reconcile job contract (lambdas/shared/reconcile-job.ts): what the worker refuses, naming the field, and how
 * sendBatch sends 10 at a time, retries what SQS refused once, and returns what still failed.
 */
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { parseReconcileJob, ReconcileJobQueue, type ReconcileJob } from '../../lambdas/shared/reconcile-job';

const JOB: ReconcileJob = {
  kind: 'reconcile-account',
  accountId: '111122223333',
  mode: 'apply',
  reason: 'schedule',
  requestedAt: '2026-11-01T00:00:00.000Z',
};

const body = (fields: Record<string, unknown>) => JSON.stringify({ ...JOB, ...fields });

describe('parseReconcileJob', () => {
  test('a job the sweep sends, with mappings and context, parses to itself', () => {
    const job: ReconcileJob = {
      ...JOB,
      mappings: [
        {
          uuid: 'u-1',
          eventSourceArn: 'arn:aws:sqs:us-east-1:111122223333:outcomesqueue',
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ingest',
          state: 'Enabled',
          maximumConcurrency: 2,
        },
      ],
      context: { logArchives: [{ accountId: '999988887777', bucketNames: ['archive'] }], recordedMappings: 3 },
    };
    expect(parseReconcileJob(JSON.stringify(job))).toEqual(job);
  });

  test.each([
    ['not JSON', '{', 'body is not JSON'],
    ['an array', '[]', 'body must be a JSON object'],
    ['another kind', body({ kind: 'backfill' }), 'kind must be "reconcile-account", got "backfill"'],
    ['a short account id', body({ accountId: '1234' }), 'accountId must be 12 digits, got "1234"'],
    ['an unknown mode', body({ mode: 'repair' }), 'mode must be "plan" or "apply", got "repair"'],
    ['an unknown reason', body({ reason: 'cron' }), 'reason must be one of schedule, trigger, manual, got "cron"'],
    ['a bad time', body({ requestedAt: 'yesterday' }), 'requestedAt must be an ISO time, got "yesterday"'],
    ['mappings not an array', body({ mappings: {} }), 'mappings must be an array'],
    [
      'a mapping without uuid',
      body({ mappings: [{ eventSourceArn: 'a', functionArn: 'f', state: 'Enabled' }] }),
      'mappings[0].uuid must be a non-empty string, got undefined',
    ],
    [
      'a fractional concurrency',
      body({
        mappings: [{ uuid: 'u', eventSourceArn: 'a', functionArn: 'f', state: 'Enabled', maximumConcurrency: 1.5 }],
      }),
      'mappings[0].maximumConcurrency must be an integer, got 1.5',
    ],
    [
      'a negative mapping count',
      body({ context: { logArchives: [], recordedMappings: -1 } }),
      'context.recordedMappings must be a whole number, got -1',
    ],
    [
      'a log archive without account',
      body({ context: { logArchives: [{ bucketNames: [] }], recordedMappings: 0 } }),
      'context.logArchives[0].accountId must be 12 digits',
    ],
  ])('refuses %s, naming what is wrong', (_, text, message) => {
    expect(() => parseReconcileJob(text)).toThrow(PermanentInputError);
    expect(() => parseReconcileJob(text)).toThrow(`reconcile job: ${message}`);
  });
});

/** An SQS client answering SendMessageBatch: `refuse(entryBody, attempt)` names a failure for an entry, or none. */
function fakeSqs(refuse: (job: ReconcileJob, attempt: number) => { code: string; senderFault: boolean } | undefined) {
  const calls: ReconcileJob[][] = [];
  const attempts = new Map<string, number>();
  const sqs = {
    send: (command: SendMessageBatchCommand) => {
      const entries = command.input.Entries ?? [];
      calls.push(entries.map((entry) => JSON.parse(entry.MessageBody!) as ReconcileJob));
      const Failed = entries.flatMap((entry) => {
        const job = JSON.parse(entry.MessageBody!) as ReconcileJob;
        const attempt = attempts.get(job.accountId) ?? 0;
        attempts.set(job.accountId, attempt + 1);
        const failure = refuse(job, attempt);
        return failure ? [{ Id: entry.Id, Code: failure.code, SenderFault: failure.senderFault, Message: 'no' }] : [];
      });
      return Promise.resolve({ Successful: [], Failed });
    },
  };
  return { sqs, calls };
}

const jobs = (count: number): ReconcileJob[] =>
  Array.from({ length: count }, (_, index) => ({ ...JOB, accountId: String(100000000000 + index) }));

describe('ReconcileJobQueue.sendBatch', () => {
  test('23 jobs go in batches of 10, 10 and 3', async () => {
    const { sqs, calls } = fakeSqs(() => undefined);
    const unsent = await new ReconcileJobQueue(sqs as never, 'https://sqs.example/q').sendBatch(jobs(23));
    expect(unsent).toEqual([]);
    expect(calls.map((batch) => batch.length)).toEqual([10, 10, 3]);
  });

  test('an entry SQS failed on its side is sent once more; one the sender is at fault for is returned at once', async () => {
    const all = jobs(3);
    const { sqs, calls } = fakeSqs((job, attempt) => {
      if (job.accountId === all[0]!.accountId && attempt === 0) return { code: 'InternalError', senderFault: false };
      if (job.accountId === all[1]!.accountId) return { code: 'InvalidMessageContents', senderFault: true };
      if (job.accountId === all[2]!.accountId) return { code: 'ServiceUnavailable', senderFault: false };
      return undefined;
    });
    const unsent = await new ReconcileJobQueue(sqs as never, 'https://sqs.example/q').sendBatch(all);
    expect(calls.map((batch) => batch.map((job) => job.accountId))).toEqual([
      all.map((job) => job.accountId),
      [all[0]!.accountId, all[2]!.accountId],
    ]);
    expect(unsent).toEqual([
      { job: all[1], reason: 'InvalidMessageContents: no' },
      { job: all[2], reason: 'ServiceUnavailable: no' },
    ]);
  });
});
