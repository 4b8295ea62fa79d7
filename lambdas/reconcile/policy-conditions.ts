/**
 * The condition half of the policy evaluator (policy-validation.ts): IAM condition operators (string, numeric,
 * date, Bool, Null, IP address, ARN; their Not, IfExists and set forms) evaluated against the single-valued
 * context of a simulated request, and the wildcard matching shared with actions and resources.
 */
import { BlockList, isIP } from 'node:net';
import type { ConditionElement } from './policies';

/** `*` matches any run of characters (including `:` and `/`), `?` exactly one. */
export function wildcardMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = Array.from(pattern, (char) => {
    if (char === '*') return '.*';
    if (char === '?') return '.';
    return char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

// ---- conditions ------------------------------------------------------------------------------------------

type ValueMatcher = (requestValue: string, policyValue: string) => boolean;

const MATCHERS: Record<string, ValueMatcher> = {
  stringequals: (request, policy) => request === policy,
  stringequalsignorecase: (request, policy) => request.toLowerCase() === policy.toLowerCase(),
  stringlike: (request, policy) => wildcardMatches(policy, request),
  numericequals: compareNumbers((request, policy) => request === policy),
  numericlessthan: compareNumbers((request, policy) => request < policy),
  numericlessthanequals: compareNumbers((request, policy) => request <= policy),
  numericgreaterthan: compareNumbers((request, policy) => request > policy),
  numericgreaterthanequals: compareNumbers((request, policy) => request >= policy),
  dateequals: compareDates((request, policy) => request === policy),
  datelessthan: compareDates((request, policy) => request < policy),
  datelessthanequals: compareDates((request, policy) => request <= policy),
  dategreaterthan: compareDates((request, policy) => request > policy),
  dategreaterthanequals: compareDates((request, policy) => request >= policy),
  bool: (request, policy) => request.toLowerCase() === policy.toLowerCase(),
  binaryequals: (request, policy) => request === policy,
  ipaddress: ipInRange,
  arnequals: arnMatches,
  arnlike: arnMatches,
};

/** Each negated operator is true exactly when its positive twin matches none of the policy values. */
const NEGATED: Record<string, string> = {
  stringnotequals: 'stringequals',
  stringnotequalsignorecase: 'stringequalsignorecase',
  stringnotlike: 'stringlike',
  numericnotequals: 'numericequals',
  datenotequals: 'dateequals',
  notipaddress: 'ipaddress',
  arnnotequals: 'arnequals',
  arnnotlike: 'arnlike',
};

interface ConditionOperator {
  /** Context values are single-valued here, so a set operator only changes what an absent key means. */
  set?: 'ForAllValues' | 'ForAnyValue';
  ifExists: boolean;
  negated: boolean;
  /** undefined for `Null`. */
  matcher?: ValueMatcher;
}

function parseOperator(name: string): ConditionOperator | undefined {
  let rest = name;
  let set: ConditionOperator['set'];
  const setMatch = /^(ForAllValues|ForAnyValue):(.+)$/i.exec(rest);
  if (setMatch?.[1] !== undefined && setMatch[2] !== undefined) {
    set = setMatch[1].toLowerCase() === 'forallvalues' ? 'ForAllValues' : 'ForAnyValue';
    rest = setMatch[2];
  }
  const ifExists = /IfExists$/i.test(rest);
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  const lower = rest.toLowerCase();
  if (lower === 'null') return set === undefined && !ifExists ? { ifExists, negated: false } : undefined;
  const positive = NEGATED[lower] ?? lower;
  const matcher = MATCHERS[positive];
  if (matcher === undefined) return undefined;
  return { set, ifExists, negated: positive !== lower, matcher };
}

function operatorHolds(operator: ConditionOperator, requestValue: string | undefined, values: string[]): boolean {
  if (operator.matcher === undefined) {
    return values.some((value) => (value.toLowerCase() === 'true') === (requestValue === undefined));
  }
  if (requestValue === undefined) {
    if (operator.ifExists) return true;
    if (operator.set === 'ForAllValues') return true;
    if (operator.set === 'ForAnyValue') return false;
    // An absent key matches no value, so a negated operator holds (why StringNotEquals Denies catch services).
    return operator.negated;
  }
  const matcher = operator.matcher;
  const anyMatch = values.some((value) => matcher(requestValue, value));
  return operator.negated ? !anyMatch : anyMatch;
}

export interface ConditionOutcome {
  held: string[];
  failed: string[];
  unsupported: string[];
}

/** All operators and all keys must hold (AND); the values of one key are alternatives (OR). */
export function evaluateConditions(
  condition: ConditionElement | undefined,
  context: Map<string, string>,
): ConditionOutcome {
  const outcome: ConditionOutcome = { held: [], failed: [], unsupported: [] };
  for (const [operatorName, keys] of Object.entries(condition ?? {})) {
    const operator = parseOperator(operatorName);
    for (const [key, rawValues] of Object.entries(keys)) {
      if (operator === undefined) {
        outcome.unsupported.push(`condition operator ${operatorName} (on ${key})`);
        continue;
      }
      const values = toArray(rawValues).map(String);
      const requestValue = context.get(key.toLowerCase());
      const text = `${operatorName} ${key} ${JSON.stringify(values.length === 1 ? values[0] : values)} (request: ${
        requestValue === undefined ? 'key absent' : JSON.stringify(requestValue)
      })`;
      (operatorHolds(operator, requestValue, values) ? outcome.held : outcome.failed).push(text);
    }
  }
  return outcome;
}

function compareNumbers(compare: (request: number, policy: number) => boolean): ValueMatcher {
  return (request, policy) => {
    const [left, right] = [Number(request), Number(policy)];
    return request.trim() !== '' && policy.trim() !== '' && !Number.isNaN(left + right) && compare(left, right);
  };
}

/** Dates are ISO 8601 or epoch seconds. */
function compareDates(compare: (request: number, policy: number) => boolean): ValueMatcher {
  const toMillis = (value: string): number => (/^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value));
  return (request, policy) => {
    const [left, right] = [toMillis(request), toMillis(policy)];
    return !Number.isNaN(left + right) && compare(left, right);
  };
}

function ipInRange(requestIp: string, range: string): boolean {
  const [address = '', prefix] = range.split('/');
  const family = isIP(address);
  const requestFamily = isIP(requestIp);
  if (family === 0 || requestFamily === 0) return false;
  const type = family === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  try {
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
    return list.check(requestIp, requestFamily === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return false; // a malformed prefix matches nothing
  }
}

/** ArnEquals and ArnLike: each of the six colon-separated parts is matched on its own, wildcards allowed. */
function arnMatches(requestArn: string, pattern: string): boolean {
  const request = splitArn(requestArn);
  const policy = splitArn(pattern);
  if (request === undefined || policy === undefined) return false;
  return policy.every((part, index) => wildcardMatches(part, request[index] ?? ''));
}

/** Not tryParseArn: a policy pattern may wildcard the `arn` part itself (`*:*:sns:...`), so no prefix check. */
function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

export function toArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}
