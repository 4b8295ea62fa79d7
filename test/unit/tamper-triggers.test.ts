import { forwardRecords } from '../../lambdas/ingest/pipeline';
import { CountTally } from '../../lambdas/ingest/runtime';
import { isTamperCandidate, TamperTriggers } from '../../lambdas/ingest/source/tamper-triggers';
import { TAMPER_CALLS, type TamperCall } from '../../lambdas/shared/tamper-calls';
import { logFileBody, logFileKey } from '../../testkit/cloudtrail-generator';
import { MemoryAccounts, recordingLogger, smallForward, SwitchableSink } from '../../testkit/ingest-fakes';
import { apiCallEvent, MemoryJobQueue, MemoryTriggerClaims, tamperRecord } from '../../testkit/tamper';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const REGION = 'us-east-1';
const CHAIN = {
  trailArn: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/outcomes-trail`,
  bucketName: `outcomes-${ACCOUNT}`,
  topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:outcomestopic`,
  queueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:outcomesqueue`,
};
const OTHER_CHAIN = {
  trailArn: `arn:aws:cloudtrail:${REGION}:${OTHER}:trail/outcomes-trail`,
  bucketName: `outcomes-${OTHER}`,
  topicArn: `arn:aws:sns:${REGION}:${OTHER}:outcomestopic`,
  queueArn: `arn:aws:sqs:${REGION}:${OTHER}:outcomesqueue`,
};
const NOW = Date.parse('2026-12-04T12:00:00.000Z');
const KEY = logFileKey({ accountId: ACCOUNT, region: REGION, time: new Date(NOW), unique: 'abcd' });

/** The request parameters CloudTrail logs for `call` on the resources of `chain`, as each API names them. */
function paramsFor(call: TamperCall, chain: typeof CHAIN): Record<string, unknown> {
  switch (call.resource) {
    case 'trail':
      return { [call.parameter]: chain.trailArn };
    case 'bucket':
      return { bucketName: chain.bucketName, Host: `${chain.bucketName}.s3.${REGION}.amazonaws.com` };
    case 'topic':
      return { topicArn: chain.topicArn };
    case 'subscription':
      return { subscriptionArn: `${chain.topicArn}:7f2f7a4e-3b3c-4d8e-9a51-0c6b1e2f3a4b` };
    case 'queue': {
      const name = chain.queueArn.split(':').at(-1)!;
      const account = chain.queueArn.split(':')[4]!;
      return { queueUrl: `https://sqs.${REGION}.amazonaws.com/${account}/${name}` };
    }
  }
}

function recordOf(call: TamperCall, overrides: Partial<Parameters<typeof tamperRecord>[0]> = {}) {
  return tamperRecord({
    accountId: ACCOUNT,
    region: REGION,
    eventSource: call.eventSource,
    eventName: call.eventName,
    requestParameters: paramsFor(call, CHAIN),
    eventTime: '2026-12-04T11:55:00Z',
    ...overrides,
  });
}

function world(options: { delaySeconds?: number } = {}) {
  let now = NOW;
  const registry = new MemoryAccounts([
    { accountId: ACCOUNT, ...CHAIN },
    { accountId: OTHER, ...OTHER_CHAIN },
  ]);
  const claims = new MemoryTriggerClaims(new Set([ACCOUNT, OTHER]));
  const jobs = new MemoryJobQueue();
  const counts = new CountTally();
  const { logger, lines } = recordingLogger();
  const triggers = new TamperTriggers({
    registry,
    claims,
    jobs,
    logger,
    counts,
    delaySeconds: options.delaySeconds ?? 60,
    now: () => now,
  });
  return {
    triggers,
    jobs,
    counts,
    lines,
    registry,
    advance: (ms: number) => (now += ms),
    /** Runs the records through a watch as pipeline.ts does, as the compact bytes the splitter returns. */
    async ingest(records: object[], key = KEY, tenant = ACCOUNT) {
      const watch = triggers.watch({ key }, tenant);
      watch?.see(records.map((r) => Buffer.from(JSON.stringify(r))));
      await watch?.done();
      return watch;
    },
  };
}

const STOP_LOGGING = TAMPER_CALLS.find((c) => c.eventName === 'StopLogging')!;

describe('ingest recognises chain-changing calls in the records it forwards', () => {
  test.each(TAMPER_CALLS.map((call) => [`${call.eventSource} ${call.eventName}`, call] as const))(
    '%s on the registered resource sends one job for the account, delayed',
    async (_name, call) => {
      const w = world();
      await w.ingest([recordOf(call)]);
      expect(w.jobs.sent).toHaveLength(1);
      const [{ job, delaySeconds }] = w.jobs.sent as [(typeof w.jobs.sent)[number]];
      expect(delaySeconds).toBe(60);
      expect(job).toMatchObject({
        kind: 'reconcile-account',
        accountId: ACCOUNT,
        mode: 'apply',
        reason: 'trigger',
        trigger: { eventSource: call.eventSource, eventName: call.eventName, via: 'ingest' },
      });
      expect(w.counts.get('TamperTriggersSent')).toBe(1);
    },
  );

  test.each(TAMPER_CALLS.map((call) => [`${call.eventSource} ${call.eventName}`, call] as const))(
    '%s on another account’s resource of the same kind sends nothing',
    async (_name, call) => {
      const w = world();
      await w.ingest([recordOf(call, { requestParameters: paramsFor(call, OTHER_CHAIN) })]);
      expect(w.jobs.sent).toEqual([]);
    },
  );

  test('a failed call (errorCode) sends nothing', async () => {
    const w = world();
    await w.ingest([recordOf(STOP_LOGGING, { errorCode: 'AccessDenied' })]);
    expect(w.jobs.sent).toEqual([]);
  });

  test("a record of another account (recipientAccountId) in the account's file sends nothing", async () => {
    const w = world();
    await w.ingest([{ ...recordOf(STOP_LOGGING), recipientAccountId: OTHER }]);
    expect(w.jobs.sent).toEqual([]);
  });

  test('a file of another account than the tenant (a log archive member) is not watched', async () => {
    const w = world();
    const memberKey = logFileKey({ accountId: OTHER, region: REGION, time: new Date(NOW), unique: 'm' });
    const member = tamperRecord({
      accountId: OTHER,
      region: REGION,
      eventSource: STOP_LOGGING.eventSource,
      eventName: 'StopLogging',
      requestParameters: { name: OTHER_CHAIN.trailArn },
    });
    expect(await w.ingest([member], memberKey, ACCOUNT)).toBeUndefined();
    expect(w.jobs.sent).toEqual([]);
  });

  test('a trail named without its ARN counts only in its home Region', async () => {
    const w = world();
    await w.ingest([recordOf(STOP_LOGGING, { requestParameters: { name: 'outcomes-trail' }, region: 'eu-west-1' })]);
    expect(w.jobs.sent).toEqual([]);
    await w.ingest([recordOf(STOP_LOGGING, { requestParameters: { name: 'outcomes-trail' } })]);
    expect(w.jobs.sent.map((s) => s.job.trigger?.resourceArn)).toEqual([CHAIN.trailArn]);
  });

  test('ordinary records cost no registry lookup', async () => {
    const w = world();
    const reads = ['DescribeTrails', 'GetTopicAttributes', 'StartLogging'].map((eventName) =>
      recordOf(STOP_LOGGING, { eventName }),
    );
    await w.ingest(reads);
    expect(w.registry.lookups.size).toBe(0);
    expect(w.jobs.sent).toEqual([]);
  });
});

describe('debounce', () => {
  test('a burst gives one job; a call after the job ran gives another', async () => {
    const w = world();
    const calls = ['StopLogging', 'DeleteTrail'].map((eventName, i) =>
      recordOf(STOP_LOGGING, { eventName, eventTime: `2026-12-04T12:00:0${i}Z` }),
    );
    await w.ingest(calls);
    await w.ingest([recordOf(STOP_LOGGING, { eventTime: '2026-12-04T12:00:30Z' })]);
    expect(w.jobs.sent).toHaveLength(1);
    expect(w.counts.get('TamperTriggersCovered')).toBe(1);
    // The job runs at 12:01:00 at the earliest: a call after that is not covered by it.
    w.advance(120_000);
    await w.ingest([recordOf(STOP_LOGGING, { eventTime: '2026-12-04T12:01:30Z' })]);
    expect(w.jobs.sent).toHaveLength(2);
  });

  test('the same call through EventBridge and then in its log file gives one job', async () => {
    const w = world();
    const record = recordOf(STOP_LOGGING, { eventTime: '2026-12-04T12:00:00Z' });
    await expect(w.triggers.handleEvent(apiCallEvent(record))).resolves.toMatchObject({ status: 'sent' });
    w.advance(6 * 60_000); // CloudTrail delivers the file minutes later
    await w.ingest([record]);
    expect(w.jobs.sent.map((s) => s.job.trigger?.via)).toEqual(['eventbridge']);
  });

  test('a job that could not be sent releases the window: the next call sends one', async () => {
    const w = world();
    w.jobs.failNext = true;
    await w.ingest([recordOf(STOP_LOGGING, { eventTime: '2026-12-04T12:00:00Z' })]);
    expect(w.counts.get('TamperTriggersFailed')).toBe(1);
    expect(w.lines.some((line) => line.level === 'error' && line.fields.accountId === ACCOUNT)).toBe(true);
    await w.ingest([recordOf(STOP_LOGGING, { eventTime: '2026-12-04T12:00:05Z' })]);
    expect(w.jobs.sent).toHaveLength(1);
  });
});

describe('the byte prefilter', () => {
  const bytes = (record: object) => Buffer.from(JSON.stringify(record));

  test('passes every call of the list and nothing else', () => {
    for (const call of TAMPER_CALLS) expect(isTamperCandidate(bytes(recordOf(call)))).toBe(true);
    for (const eventName of ['StartLogging', 'StopLoggingNow', 'Stop', 'GetBucketPolicy', '']) {
      expect(isTamperCandidate(bytes(recordOf(STOP_LOGGING, { eventName })))).toBe(false);
    }
  });

  test('a call named inside a string value (escaped) is not taken for the record’s own', () => {
    const record = recordOf(STOP_LOGGING, {
      eventName: 'PutRule',
      requestParameters: { eventPattern: JSON.stringify({ detail: { eventName: ['StopLogging'] } }) },
    });
    expect(isTamperCandidate(bytes(record))).toBe(false);
  });

  test('through forwardRecords: the records are forwarded unchanged and the job follows', async () => {
    const w = world();
    const records = [recordOf(STOP_LOGGING, { eventName: 'DescribeTrails' }), recordOf(STOP_LOGGING)];
    const sink = new SwitchableSink();
    const object = { bucket: CHAIN.bucketName, key: KEY, kind: 'log' as const };
    const result = await forwardRecords(
      logFileBody(records),
      object,
      sink,
      { ...smallForward(), deadline: Date.now() + 60_000 },
      undefined,
      w.triggers.watch(object, ACCOUNT),
    );
    expect(result.recordsForwarded).toBe(2);
    expect(sink.eventIds.size).toBe(2);
    expect(w.jobs.sent.map((s) => s.job.trigger?.eventName)).toEqual(['StopLogging']);
  });
});

describe('EventBridge events from the customer rule', () => {
  const UNSUBSCRIBE = TAMPER_CALLS.find((c) => c.eventName === 'Unsubscribe')!;

  test('a registered account’s call on its registered resource sends its job', async () => {
    const w = world();
    const outcome = await w.triggers.handleEvent(apiCallEvent(recordOf(UNSUBSCRIBE)));
    expect(outcome).toMatchObject({ status: 'sent', accountId: ACCOUNT });
    expect(w.jobs.sent[0]?.job.trigger).toMatchObject({ eventName: 'Unsubscribe', via: 'eventbridge' });
  });

  const rejected: [string, (event: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
    [
      'an unregistered account',
      (e) => ({
        ...e,
        account: '999988887777',
        detail: { ...(e.detail as object), recipientAccountId: '999988887777' },
      }),
      /not registered/,
    ],
    [
      "another account's resource",
      (e) => ({ ...e, detail: { ...(e.detail as object), requestParameters: paramsFor(UNSUBSCRIBE, OTHER_CHAIN) } }),
      /does not act on a resource registered/,
    ],
    [
      'a failed call',
      (e) => ({ ...e, detail: { ...(e.detail as object), errorCode: 'AuthorizationError' } }),
      /does not act on a resource registered/,
    ],
    [
      'a record of another account than the event’s',
      (e) => ({ ...e, detail: { ...(e.detail as object), recipientAccountId: OTHER } }),
      /does not act on a resource registered/,
    ],
    ['another detail-type', (e) => ({ ...e, 'detail-type': 'Object Created' }), /detail-type must be/],
    ['a source the rule does not forward', (e) => ({ ...e, source: 'aws.ec2' }), /source "aws.ec2"/],
    ['a detail of another service than the source', (e) => ({ ...e, source: 'aws.sqs' }), /does not match source/],
    ['a detail of another Region than the event', (e) => ({ ...e, region: 'eu-west-1' }), /is not the event's region/],
    ['an account that is not 12 digits', (e) => ({ ...e, account: 'me' }), /account must be 12 digits/],
  ];
  test.each(rejected)('%s is rejected, logged and counted', async (_name, change, reason) => {
    const w = world();
    const outcome = await w.triggers.handleEvent(change(apiCallEvent(recordOf(UNSUBSCRIBE))));
    expect(outcome.status).toBe('rejected');
    expect(outcome.status === 'rejected' && outcome.reason).toMatch(reason);
    expect(w.jobs.sent).toEqual([]);
    expect(w.counts.get('TamperEventsRejected')).toBe(1);
  });

  test('a job that cannot be sent fails the invocation (Lambda retries it)', async () => {
    const w = world();
    w.jobs.failNext = true;
    await expect(w.triggers.handleEvent(apiCallEvent(recordOf(UNSUBSCRIBE)))).rejects.toThrow(/SQS unavailable/);
    await expect(w.triggers.handleEvent(apiCallEvent(recordOf(UNSUBSCRIBE)))).resolves.toMatchObject({
      status: 'sent',
    });
  });
});
