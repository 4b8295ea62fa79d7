import { App } from 'aws-cdk-lib';
import { CollectorStack } from '../lib/collector.stack';

const app = new App();
const downstreamUrl =
  (app.node.tryGetContext('downstreamUrl') as string | undefined) ?? 'https://logs.example.com/intake';
new CollectorStack(app, 'CloudTrailCollector', {
  downstreamUrl,
  description:
    'cloudtrail-collector: collects CloudTrail logs from customer accounts and repairs their delivery chains',
});
app.synth();
