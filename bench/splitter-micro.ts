/**
 * Throughput of RecordSplitter alone over ~200 MB of generated CloudTrail-like records, fed in 256 KiB
 * chunks as gunzip produces them. Run: npx tsx bench/splitter-micro.ts [megabytes]
 */
import { RecordSplitter } from '../lambdas/ingest/records/record-splitter';

const CHUNK_BYTES = 256 * 1024;
const targetBytes = Number(process.argv[2] ?? 200) * 1024 * 1024;

function sampleRecord(n: number): object {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE${n}:session-${n % 97}`,
      arn: `arn:aws:sts::123456789012:assumed-role/Role${n % 13}/session-${n % 97}`,
      accountId: '123456789012',
      accessKeyId: `ASIAEXAMPLE${(n * 7919) % 100000}`,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: 'arn:aws:iam::123456789012:role/Role' },
        attributes: { creationDate: '2024-05-01T12:00:00Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: '2024-05-01T12:34:56Z',
    eventSource: n % 3 === 0 ? 's3.amazonaws.com' : 'ec2.amazonaws.com',
    eventName: n % 3 === 0 ? 'GetObject' : 'DescribeInstances',
    awsRegion: 'eu-west-1',
    sourceIPAddress: `10.0.${n % 256}.${(n * 31) % 256}`,
    userAgent: 'aws-sdk-go/1.44.0 (go1.20; linux; amd64) exec-env/AWS_ECS_FARGATE',
    requestParameters:
      n % 5 === 0
        ? { policyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*' }] }) }
        : { bucketName: `bucket-${n % 50}`, key: `path/to/object-${n}.json`, maxResults: 1000 },
    responseElements: null,
    requestID: `REQ${n}ABCDEF`,
    eventID: `0b7c8f8e-${(n % 10000).toString().padStart(4, '0')}-4c3a-9a4e-3f5d1c2b6a7e`,
    readOnly: true,
    resources: [{ accountId: '123456789012', type: 'AWS::S3::Object', ARN: `arn:aws:s3:::bucket/${n}` }],
    eventType: 'AwsApiCall',
    managementEvent: n % 3 !== 0,
    recipientAccountId: '123456789012',
    eventCategory: n % 3 === 0 ? 'Data' : 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 'x' },
  };
}

/** A document of about `bytes` bytes; `indent` pretty-prints each record (the copying path). */
function buildDocument(bytes: number, indent?: number): Buffer {
  const pool = Array.from({ length: 1000 }, (_, n) => Buffer.from(JSON.stringify(sampleRecord(n), null, indent)));
  const parts: Buffer[] = [Buffer.from('{"Records":[')];
  let size = 0;
  for (let n = 0; size < bytes; n++) {
    if (n > 0) parts.push(Buffer.from(','));
    const record = pool[n % pool.length]!;
    parts.push(record);
    size += record.length + 1;
  }
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}

function run(doc: Buffer): { seconds: number; records: number } {
  const started = process.hrtime.bigint();
  const splitter = new RecordSplitter();
  let records = 0;
  for (let offset = 0; offset < doc.length; offset += CHUNK_BYTES) {
    records += splitter.write(doc.subarray(offset, offset + CHUNK_BYTES)).length;
  }
  splitter.end();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, records };
}

function measure(name: string, doc: Buffer): void {
  const megabytes = doc.length / (1024 * 1024);
  let best = 0;
  for (let round = 1; round <= 5; round++) {
    const { seconds, records } = run(doc);
    const rate = megabytes / seconds;
    best = Math.max(best, rate);
    console.log(`${name} round ${round}: ${rate.toFixed(0)} MiB/s (${records} records, ${seconds.toFixed(2)} s)`);
  }
  console.log(`${name}: best ${best.toFixed(0)} MiB/s over ${megabytes.toFixed(0)} MiB`);
}

measure('compact', buildDocument(targetBytes));
measure('pretty-printed', buildDocument(targetBytes / 4, 2));
