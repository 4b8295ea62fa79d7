import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { AssumedRoleCredentialCache, RoleAssumptionError } from '../../lambdas/shared/credentials';

const target = {
  accountId: '111122223333',
  roleArn: 'arn:aws:iam::111122223333:role/CloudTrailCollectorRole',
  externalId: 'ext-1',
};

describe('assumed-role credential cache', () => {
  const sts = mockClient(STSClient);
  let now = 0;
  let issued = 0;

  beforeEach(() => {
    sts.reset();
    now = Date.UTC(2026, 10, 24);
    issued = 0;
    sts.on(AssumeRoleCommand).callsFake(issue);
  });

  async function issue() {
    {
      issued += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return {
        Credentials: {
          AccessKeyId: `AKIA${issued}`,
          SecretAccessKey: 'secret',
          SessionToken: 'token',
          Expiration: new Date(now + 60 * 60_000),
        },
      };
    }
  }

  function cache() {
    return new AssumedRoleCredentialCache(new STSClient({ region: 'us-east-1' }), {
      sessionName: 'test',
      now: () => now,
    });
  }

  test('sends the ExternalId and shares one call among concurrent callers', async () => {
    const credentials = cache();
    const results = await Promise.all([1, 2, 3].map(() => credentials.credentialsFor(target)));
    expect(new Set(results.map((c) => c.accessKeyId))).toEqual(new Set(['AKIA1']));
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toMatchObject({
      RoleArn: target.roleArn,
      ExternalId: 'ext-1',
      RoleSessionName: 'test',
    });
  });

  test('reuses credentials until five minutes before they expire, then refreshes', async () => {
    const credentials = cache();
    const first = await credentials.credentialsFor(target);
    now += 54 * 60_000;
    expect((await credentials.credentialsFor(target)).accessKeyId).toBe(first.accessKeyId);
    now += 2 * 60_000;
    const refreshed = await credentials.credentialsFor(target);
    expect(refreshed.accessKeyId).toBe('AKIA2');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  test('a failed AssumeRole is not cached and says which role', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }))
      .callsFake(issue);
    const credentials = cache();
    const failure = credentials.credentialsFor(target);
    await expect(failure).rejects.toBeInstanceOf(RoleAssumptionError);
    await expect(failure).rejects.toThrow(`cannot assume ${target.roleArn}: not authorized`);
    await expect(credentials.credentialsFor(target)).resolves.toMatchObject({ secretAccessKey: 'secret' });
  });

  test('a role without an ExternalId is never assumed', async () => {
    await expect(cache().credentialsFor({ ...target, externalId: '' })).rejects.toThrow(/no ExternalId/);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });
});
