/**
 * A resource-policy evaluator for the requests the delivery chain makes (policy-validation.ts asks it), honouring
 * explicit Deny, NotPrincipal/NotAction/NotResource, wildcards and conditions.
 *
 * A small evaluator of our own rather than @cloud-copilot/iam-simulate: that package is AGPL-3.0 (this
 * project is Apache-2.0 and bundles its dependencies into Lambda code), async only, and reads ~15 MB of
 * service data from its package folder at run time, which an esbuild bundle does not carry. We only need
 * resource-policy decisions for three known requests.
 *
 * Not simulated: identity policies, SCPs, RCPs, permission boundaries, KMS key policies; policy variables
 * (`${aws:...}` is compared literally); multi-valued context keys; keys the request is not given here
 * (aws:SourceIp, aws:PrincipalOrgID, aws:PrincipalTag/..., VPC keys) are absent, as they are for service principals.
 */
import { tryParseArn } from '../shared/arn';
import { CollectorError, errorMessage } from '../shared/errors';
import {
  isCollectorStatement,
  type PolicyDocument,
  type PolicyStatement,
  type PolicyStringList,
  type PrincipalElement,
} from './policies';
import { evaluateConditions, toArray, wildcardMatches } from './policy-conditions';

export interface PolicyVerdict {
  /** The request succeeds as far as this resource policy decides. */
  allowed: boolean;
  /**
   * Blocked by an explicit Deny in a statement the collector does not own: report POLICY_DENY_CONFLICT and
   * leave it in place. A Deny in the collector's own (`CloudTrailCollector*`) statements does not count,
   * since a repair replaces those.
   */
  explicitDeny: boolean;
  /** Human words: which statement denied, or what is missing. Empty when allowed. */
  reasons: string[];
}

/** The policy text is not JSON, or not a resource policy (a statement without Effect, Principal, Action...). */
export class PolicyParseError extends CollectorError {}

/** Who makes a simulated request. */
export type SimulatedPrincipal =
  /** An AWS service principal acting for one of the customer's resources, e.g. `cloudtrail.amazonaws.com`. */
  | { service: string }
  /** A session of an IAM role (session name unknown, as with a Lambda event source mapping). */
  | { roleArn: string };

export interface SimulatedRequest {
  principal: SimulatedPrincipal;
  action: string;
  resourceArn: string;
  /** The resource's owner: an IAM principal of that account is allowed by its identity policy alone. */
  resourceAccountId: string;
  /** Condition keys of the request; names are case-insensitive. aws:Principal* keys come from `principal`. */
  context: Record<string, string>;
}

/** Parses and shape-checks a resource policy; throws PolicyParseError saying what is wrong. */
export function parsePolicyDocument(json: string): PolicyDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new PolicyParseError(`the policy is not valid JSON: ${errorMessage(error)}`, { cause: error });
  }
  if (!isRecord(parsed)) throw new PolicyParseError('the policy is not a JSON object');
  if (parsed.Statement === undefined) throw new PolicyParseError('the policy has no Statement');
  toArray(parsed.Statement).forEach(checkStatementShape);
  return parsed as unknown as PolicyDocument;
}

/**
 * The decision of one resource policy on one request, as AWS makes it when no identity policy, SCP, RCP
 * or boundary is involved: an applicable Deny wins; else an applicable Allow; else an IAM principal of the
 * resource's own account is allowed by its identity policy; else implicitly denied.
 */
export function evaluateResourcePolicy(policy: PolicyDocument | undefined, request: SimulatedRequest): PolicyVerdict {
  const context = requestContext(request);
  const subject = describeRequest(request);
  const statements = policy === undefined ? [] : toArray(policy.Statement);
  const denials: { reason: string; collectorOwned: boolean }[] = [];
  const nearMisses: string[] = [];
  let allowedByStatement = false;

  statements.forEach((statement, index) => {
    const label = statementLabel(statement, index);
    const match = matchStatement(statement, request, context);
    if (statement.Effect === 'Deny') {
      const reason = denyReason(label, subject, match);
      if (reason !== undefined) denials.push({ reason, collectorOwned: isCollectorStatement(statement) });
      return;
    }
    if (match.kind === 'applies') allowedByStatement = true;
    else if (match.kind !== 'not-applicable') nearMisses.push(`${label} would allow it, but ${match.detail}`);
  });

  if (denials.length > 0) {
    return {
      allowed: false,
      explicitDeny: denials.some((denial) => !denial.collectorOwned),
      reasons: denials.map((denial) => denial.reason),
    };
  }
  if (allowedByStatement) return { allowed: true, explicitDeny: false, reasons: [] };
  if ('roleArn' in request.principal && arnAccountId(request.principal.roleArn) === request.resourceAccountId) {
    return { allowed: true, explicitDeny: false, reasons: [] };
  }
  const missing =
    policy === undefined
      ? `there is no resource policy, so nothing allows ${subject}`
      : `no statement allows ${subject}`;
  return { allowed: false, explicitDeny: false, reasons: [missing, ...nearMisses] };
}

type StatementMatch =
  | { kind: 'applies'; detail: string }
  | { kind: 'not-applicable' }
  /** Principal and action match, but the resource, a condition, or an unknown operator keeps it out. */
  | { kind: 'resource-mismatch' | 'condition-failed'; detail: string }
  | { kind: 'unsupported'; detail: string };

function matchStatement(
  statement: PolicyStatement,
  request: SimulatedRequest,
  context: Map<string, string>,
): StatementMatch {
  const notPrincipal = statement.NotPrincipal !== undefined;
  const principalCovered = notPrincipal
    ? !principalExempted(statement.NotPrincipal ?? {}, request.principal)
    : principalNamed(statement.Principal ?? {}, request.principal);
  if (!principalCovered) return { kind: 'not-applicable' };

  const actionCovered =
    statement.NotAction !== undefined
      ? !toArray(statement.NotAction).some((pattern) => actionMatches(pattern, request.action))
      : toArray(statement.Action ?? []).some((pattern) => actionMatches(pattern, request.action));
  if (!actionCovered) return { kind: 'not-applicable' };

  // No Resource element: the statement is about the resource it is attached to.
  const resourceCovered =
    statement.NotResource !== undefined
      ? !toArray(statement.NotResource).some((pattern) => wildcardMatches(pattern, request.resourceArn))
      : statement.Resource === undefined ||
        toArray(statement.Resource).some((pattern) => wildcardMatches(pattern, request.resourceArn));
  if (!resourceCovered) {
    const element = statement.NotResource !== undefined ? 'NotResource' : 'Resource';
    return { kind: 'resource-mismatch', detail: `its ${element} does not cover ${request.resourceArn}` };
  }

  const conditions = evaluateConditions(statement.Condition, context);
  if (conditions.failed.length > 0) {
    return { kind: 'condition-failed', detail: `its condition does not hold: ${conditions.failed.join('; ')}` };
  }
  if (conditions.unsupported.length > 0) {
    return {
      kind: 'unsupported',
      detail: `it uses ${conditions.unsupported.join(', ')}, which this check cannot evaluate`,
    };
  }
  const why = [
    ...(notPrincipal ? ['its NotPrincipal does not exempt the caller'] : []),
    ...conditions.held.map((held) => `condition ${held}`),
  ];
  return { kind: 'applies', detail: why.join('; ') };
}

function denyReason(label: string, subject: string, match: StatementMatch): string | undefined {
  if (match.kind === 'applies') {
    return `${label} explicitly denies ${subject}${match.detail ? ` (${match.detail})` : ''}`;
  }
  // A Deny we cannot evaluate is assumed to apply: reporting a conflict beats calling a broken chain healthy.
  if (match.kind === 'unsupported') return `${label} may deny ${subject}: ${match.detail}, so it is assumed to apply`;
  return undefined;
}

// ---- principals ------------------------------------------------------------------------------------------

interface RoleIdentity {
  roleArn: string;
  accountId: string;
  partition: string;
  roleName: string;
}

function roleIdentity(roleArn: string): RoleIdentity {
  const parsed = tryParseArn(roleArn);
  const resource = parsed?.resource ?? '';
  return {
    roleArn,
    partition: parsed?.partition ?? 'aws',
    accountId: parsed?.accountId ?? '',
    // Session ARNs drop the role's path: arn:aws:sts::<account>:assumed-role/<name>/<session>.
    roleName: resource.split('/').pop() ?? '',
  };
}

function principalValues(element: PrincipalElement, type: 'AWS' | 'Service'): string[] {
  if (element === '*') return ['*'];
  const entry = Object.entries(element).find(([key]) => key.toLowerCase() === type.toLowerCase());
  return entry === undefined ? [] : toArray(entry[1]);
}

/** `Principal` semantics: does the element name the caller? `"*"` and `{"AWS": "*"}` name everyone, services too. */
function principalNamed(element: PrincipalElement, principal: SimulatedPrincipal): boolean {
  const awsValues = principalValues(element, 'AWS');
  if (awsValues.includes('*')) return true;
  if ('service' in principal) {
    return principalValues(element, 'Service').some((value) => value.toLowerCase() === principal.service.toLowerCase());
  }
  const role = roleIdentity(principal.roleArn);
  return awsValues.some((value) => value === role.roleArn || namesAccount(value, role.accountId));
}

/**
 * `NotPrincipal` semantics. AWS checks a role session as its account, its role and the session itself, and
 * a session cannot be named by wildcard; so a role session is exempt only when all three are listed.
 */
function principalExempted(element: PrincipalElement, principal: SimulatedPrincipal): boolean {
  const awsValues = principalValues(element, 'AWS');
  if (awsValues.includes('*')) return true;
  if ('service' in principal) return principalNamed(element, principal);
  const role = roleIdentity(principal.roleArn);
  const sessionPrefix = `arn:${role.partition}:sts::${role.accountId}:assumed-role/${role.roleName}/`;
  return (
    awsValues.some((value) => namesAccount(value, role.accountId)) &&
    awsValues.includes(role.roleArn) &&
    awsValues.some((value) => value.startsWith(sessionPrefix) && value.length > sessionPrefix.length)
  );
}

function namesAccount(value: string, accountId: string): boolean {
  if (value === accountId) return true;
  const arn = tryParseArn(value);
  return arn?.service === 'iam' && arn.region === '' && arn.accountId === accountId && arn.resource === 'root';
}

function requestContext(request: SimulatedRequest): Map<string, string> {
  const derived: Record<string, string> =
    'service' in request.principal
      ? { 'aws:PrincipalIsAWSService': 'true', 'aws:PrincipalServiceName': request.principal.service }
      : {
          'aws:PrincipalIsAWSService': 'false',
          'aws:PrincipalArn': request.principal.roleArn,
          'aws:PrincipalAccount': roleIdentity(request.principal.roleArn).accountId,
          'aws:PrincipalType': 'AssumedRole',
        };
  const context = new Map<string, string>();
  for (const [key, value] of Object.entries({ ...derived, ...request.context })) context.set(key.toLowerCase(), value);
  return context;
}

function describeRequest(request: SimulatedRequest): string {
  const who = 'service' in request.principal ? request.principal.service : request.principal.roleArn;
  return `${request.action} by ${who} on ${request.resourceArn}`;
}

// ---- actions and resources -------------------------------------------------------------------------------

/** Action names are case-insensitive (`SNS:Publish` = `sns:publish`); `*` and `?` are wildcards. */
function actionMatches(pattern: string, action: string): boolean {
  return wildcardMatches(pattern, action, true);
}

// ---- parsing ---------------------------------------------------------------------------------------------

type ParsedPolicyText = { policy: PolicyDocument | undefined; error?: undefined } | { error: PolicyVerdict };

/** A missing or empty policy is no policy; a malformed one is a verdict, not a throw: the plan must go on. */
export function parsePolicyText(policyJson: string | undefined): ParsedPolicyText {
  if (policyJson === undefined || policyJson.trim() === '') return { policy: undefined };
  try {
    return { policy: parsePolicyDocument(policyJson) };
  } catch (error) {
    if (!(error instanceof PolicyParseError)) throw error;
    return { error: { allowed: false, explicitDeny: false, reasons: [error.message] } };
  }
}

function checkStatementShape(statement: unknown, index: number): void {
  const where = `statement #${index + 1}`;
  const fail = (problem: string): never => {
    throw new PolicyParseError(`the policy is not a valid resource policy: ${where} ${problem}`);
  };
  if (!isRecord(statement)) return fail('is not an object');
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') fail('has no Effect "Allow" or "Deny"');
  if ((statement.Principal === undefined) === (statement.NotPrincipal === undefined)) {
    fail('needs exactly one of Principal and NotPrincipal');
  }
  const principal = statement.Principal ?? statement.NotPrincipal;
  if (principal !== '*' && !(isRecord(principal) && Object.values(principal).every(isStringList))) {
    fail('has a Principal that is neither "*" nor a map of principal types to strings');
  }
  if ((statement.Action === undefined) === (statement.NotAction === undefined)) {
    fail('needs exactly one of Action and NotAction');
  }
  if (!isStringList(statement.Action ?? statement.NotAction)) fail('has an Action that is not a string or strings');
  if (statement.Resource !== undefined && statement.NotResource !== undefined) {
    fail('has both Resource and NotResource');
  }
  const resource = statement.Resource ?? statement.NotResource;
  if (resource !== undefined && !isStringList(resource)) fail('has a Resource that is not a string or strings');
  const condition = statement.Condition;
  if (condition !== undefined && !(isRecord(condition) && Object.values(condition).every(isConditionBlock))) {
    fail('has a Condition that is not {operator: {key: value(s)}}');
  }
}

function isConditionBlock(block: unknown): boolean {
  const isScalar = (value: unknown): boolean => ['string', 'number', 'boolean'].includes(typeof value);
  return (
    isRecord(block) &&
    Object.values(block).every((value) => (Array.isArray(value) ? value.every(isScalar) : isScalar(value)))
  );
}

function isStringList(value: unknown): value is PolicyStringList {
  return typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- small helpers ---------------------------------------------------------------------------------------

export function combineVerdicts(verdicts: PolicyVerdict[]): PolicyVerdict {
  return {
    allowed: verdicts.every((verdict) => verdict.allowed),
    explicitDeny: verdicts.some((verdict) => verdict.explicitDeny),
    reasons: [...new Set(verdicts.flatMap((verdict) => verdict.reasons))],
  };
}

export function transportAndTime(now = new Date()): Record<string, string> {
  return {
    'aws:SecureTransport': 'true',
    'aws:CurrentTime': now.toISOString(),
    'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
  };
}

function statementLabel(statement: PolicyStatement, index: number): string {
  return `statement #${index + 1}${statement.Sid ? ` (Sid "${statement.Sid}")` : ''}`;
}

export function arnAccountId(arn: string): string | undefined {
  const accountId = tryParseArn(arn)?.accountId;
  return accountId ? accountId : undefined;
}
