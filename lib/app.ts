import type { App } from 'aws-cdk-lib';
import { CollectorStack } from './collector.stack';
import { CONFIG_CONTEXT_KEY, parseCollectorConfig, type CollectorConfig } from './config';
import { CustomerAccountStack, type CustomerRoleVariant } from './customer-account.stack';
import { STACK_IDS } from './names';
import { applyNagChecks, type NagOptions } from './nag';

export const CUSTOMER_STACK_DESCRIPTIONS: Record<CustomerRoleVariant, string> = {
  standard:
    "cloudtrail-collector customer role: lets the collector read this account's CloudTrail log files and observe (report) or repair (apply) its own delivery chain; cost-creating CloudTrail calls are denied",
  'log-archive':
    'cloudtrail-collector log archive role: as the customer role, and reads the log files of the accounts this account archives in LogArchiveBucketName; cost-creating CloudTrail calls are denied',
};

/** The customer role stack of one variant: the same in the CDK app and in the committed template. */
export function addCustomerStack(app: App, variant: CustomerRoleVariant): CustomerAccountStack {
  return new CustomerAccountStack(app, variant === 'standard' ? STACK_IDS.customer : STACK_IDS.logArchive, {
    variant,
    description: CUSTOMER_STACK_DESCRIPTIONS[variant],
  });
}

export interface CollectorApp {
  config: CollectorConfig;
  collector: CollectorStack;
  customer: CustomerAccountStack;
  logArchive: CustomerAccountStack;
}

/**
 * Every stack of the app: the collector (deployed by the operator with `cdk deploy CloudTrailCollector`) and the
 * two customer role templates (deployed by customers with `aws cloudformation deploy`, from templates/), with the
 * cdk-nag packs over all three. Configuration comes from the `cloudtrailCollector` context (cdk.json).
 */
export function buildCollectorApp(app: App, options: { nag?: NagOptions | false } = {}): CollectorApp {
  const config = parseCollectorConfig(app.node.tryGetContext(CONFIG_CONTEXT_KEY));
  const collector = new CollectorStack(app, STACK_IDS.collector, {
    config,
    description:
      'cloudtrail-collector: collects CloudTrail logs from customer accounts and repairs their delivery chains',
  });
  const customer = addCustomerStack(app, 'standard');
  const logArchive = addCustomerStack(app, 'log-archive');
  if (options.nag !== false) applyNagChecks(app, options.nag ?? {});
  return { config, collector, customer, logArchive };
}
