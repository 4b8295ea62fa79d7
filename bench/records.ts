/**
 * The records the benchmarks feed the ingest core: the sandbox generator's management events
 * (`testkit/cloudtrail-generator.ts`: 16 event sources and names, four identity types, request parameters
 * from empty to a few KB with escapes and non-ASCII), plus the large fields real CloudTrail files carry and the
 * generator lacks: IAM trust policies as escaped JSON strings, bucket policies as objects, and RunInstances
 * responses that describe every launched instance (a few KB per instance, up to ~100 KB per record).
 */
import { generateRecord, seededRandom, type GenerateOptions } from '../testkit/cloudtrail-generator';

export const BENCH_ACCOUNT = '111122223333';
export const BENCH_REGION = 'us-east-1';

function hex(random: () => number, length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(random() * 0x100000000).toString(16);
  return out.slice(0, length);
}

function policyDocument(random: () => number, statements: number, accountId: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: Array.from({ length: statements }, (_, i) => ({
      Sid: `Statement${i}`,
      Effect: random() < 0.9 ? 'Allow' : 'Deny',
      Principal: { AWS: `arn:aws:iam::${accountId}:role/service-role-${hex(random, 6)}` },
      Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'].slice(0, 1 + Math.floor(random() * 3)),
      Resource: [`arn:aws:s3:::bucket-${hex(random, 8)}`, `arn:aws:s3:::bucket-${hex(random, 8)}/*`],
      Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
    })),
  };
}

function instance(random: () => number, index: number, options: GenerateOptions): Record<string, unknown> {
  const id = `i-${hex(random, 17)}`;
  return {
    instanceId: id,
    imageId: `ami-${hex(random, 17)}`,
    currentInstanceBootMode: 'legacy-bios',
    instanceState: { code: 0, name: 'pending' },
    privateDnsName: `ip-10-0-${index % 256}-${Math.floor(random() * 256)}.ec2.internal`,
    amiLaunchIndex: index,
    productCodes: {},
    instanceType: random() < 0.5 ? 'm7g.large' : 't3.micro',
    launchTime: 1_793_491_200_000 + index,
    placement: { availabilityZone: `${options.region}a`, tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: `subnet-${hex(random, 17)}`,
    vpcId: `vpc-${hex(random, 17)}`,
    privateIpAddress: `10.0.${index % 256}.${Math.floor(random() * 256)}`,
    stateReason: { code: 'pending', message: 'pending' },
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: {},
    virtualizationType: 'hvm',
    clientToken: hex(random, 36),
    tagSet: {
      items: [
        { key: 'Name', value: `worker-${index}` },
        { key: 'team', value: random() < 0.2 ? 'データ基盤 🚀' : 'platform' },
      ],
    },
    groupSet: { items: [{ groupId: `sg-${hex(random, 17)}`, groupName: 'default' }] },
    sourceDestCheck: true,
    hypervisor: 'xen',
    networkInterfaceSet: {
      items: [
        {
          networkInterfaceId: `eni-${hex(random, 17)}`,
          subnetId: `subnet-${hex(random, 17)}`,
          vpcId: `vpc-${hex(random, 17)}`,
          ownerId: options.accountId,
          status: 'in-use',
          macAddress: '0e:00:00:00:00:00',
          privateIpAddress: `10.0.${index % 256}.${Math.floor(random() * 256)}`,
          sourceDestCheck: true,
          interfaceType: 'interface',
          groupSet: { items: [{ groupId: `sg-${hex(random, 17)}`, groupName: 'default' }] },
          attachment: { attachmentId: `eni-attach-${hex(random, 17)}`, deviceIndex: 0, status: 'attaching' },
          privateIpAddressesSet: { item: [{ privateIpAddress: `10.0.0.${index % 256}`, primary: true }] },
          ipv6AddressesSet: {},
          tagSet: {},
        },
      ],
    },
    ebsOptimized: false,
    enaSupport: true,
    cpuOptions: { coreCount: 1, threadsPerCore: 2 },
    capacityReservationSpecification: { capacityReservationPreference: 'open' },
    enclaveOptions: { enabled: false },
    metadataOptions: { state: 'pending', httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' },
    privateDnsNameOptions: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false },
    maintenanceOptions: { autoRecovery: 'default' },
  };
}

/** One record: the generator's, with the large fields of the events that have them in real files. */
export function benchRecord(random: () => number, options: GenerateOptions, index: number): Record<string, unknown> {
  const record = generateRecord(random, options, index);
  const params = record.requestParameters as Record<string, unknown>;
  switch (record.eventName) {
    case 'CreateRole':
      // IAM puts policies in as the caller sent them: a JSON document inside a string, every quote escaped.
      record.requestParameters = {
        ...params,
        roleName: `role-${hex(random, 8)}`,
        assumeRolePolicyDocument: JSON.stringify(
          policyDocument(random, 1 + Math.floor(random() * 6), options.accountId),
          null,
          random() < 0.5 ? 2 : undefined,
        ),
      };
      break;
    case 'PutBucketPolicy':
      record.requestParameters = {
        ...params,
        bucketName: `bucket-${hex(random, 8)}`,
        bucketPolicy: policyDocument(random, 1 + Math.floor(random() * 30), options.accountId),
      };
      break;
    case 'RunInstances': {
      // Most launches start one instance; a few start dozens, and the response describes every one.
      const roll = random();
      const count = roll < 0.8 ? 1 : roll < 0.97 ? 2 + Math.floor(random() * 8) : 10 + Math.floor(random() * 30);
      record.responseElements = {
        requestId: hex(random, 36),
        reservationId: `r-${hex(random, 17)}`,
        ownerId: options.accountId,
        groupSet: {},
        instancesSet: { items: Array.from({ length: count }, (_, i) => instance(random, i, options)) },
        requesterId: '940372691376',
      };
      break;
    }
  }
  return record;
}

/** `count` records from one seed, like `generateRecords`. */
export function benchRecords(count: number, options: GenerateOptions): Record<string, unknown>[] {
  const random = seededRandom(options.seed);
  return Array.from({ length: count }, (_, index) => benchRecord(random, options, index));
}
