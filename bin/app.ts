import { App } from 'aws-cdk-lib';
import { buildCollectorApp } from '../lib/app';
import { CollectorConfigError } from '../lib/config';

const app = new App();
try {
  buildCollectorApp(app);
} catch (error) {
  if (!(error instanceof CollectorConfigError)) throw error;
  // A configuration mistake: say which key, without a stack trace.
  process.stderr.write(`cloudtrail-collector: ${error.message}\n`);
  process.exit(2);
}
app.synth();
