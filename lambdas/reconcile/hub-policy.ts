/**
 * The hub topology's part of a customer topic policy: may the collector's reconcile role subscribe the account's
 * hub queue to the topic? Simulated like the other chain requests (policy-validation.ts): sns:Subscribe by the
 * role, with the request's sns:Protocol and sns:Endpoint, against the topic's resource policy. Cross-account,
 * the topic policy must allow it (the role's own identity policy is not enough).
 */
import { tryParseArn } from '../shared/arn';
import { PolicyParseError, evaluateResourcePolicy, parsePolicyDocument, type PolicyVerdict } from './policy-validation';
import type { PolicyDocument } from './policies';
import type { HubSubscriber } from './types';

export function checkHubSubscribePolicy(
  policyJson: string | undefined,
  ctx: { topicArn: string; subscriber: HubSubscriber },
): PolicyVerdict {
  let policy: PolicyDocument | undefined;
  if (policyJson !== undefined && policyJson.trim() !== '') {
    try {
      policy = parsePolicyDocument(policyJson);
    } catch (error) {
      if (!(error instanceof PolicyParseError)) throw error;
      return { allowed: false, explicitDeny: false, reasons: [error.message] };
    }
  }
  return evaluateResourcePolicy(policy, {
    principal: { roleArn: ctx.subscriber.principalArn },
    action: 'sns:Subscribe',
    resourceArn: ctx.topicArn,
    resourceAccountId: tryParseArn(ctx.topicArn)?.accountId ?? '',
    context: { 'aws:SecureTransport': 'true', 'sns:Protocol': 'sqs', 'sns:Endpoint': ctx.subscriber.endpoint },
  });
}
