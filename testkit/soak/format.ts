/** The table `npm run soak` prints from a soak report. */
import { formatTable } from '../../bin/commands/output';
import type { Phase } from './outages';
import { round, type SoakReport } from './report';

const kinds = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ') || 'none';

function outageRows(report: SoakReport): string[][] {
  const outage = report.outage;
  if (!outage) return [];
  const phase = (name: Phase) => {
    const p = outage.phases[name];
    return `${p.receives} receives: ${p.acknowledged} acknowledged (${p.deadLettered} to the DLQ), ${p.deferred} deferred (circuit open), ${p.failed} failed; ${p.s3Reads} S3 reads`;
  };
  const scaled = report.schedule.timeScale === 1 ? 'real time' : `time scale ${report.schedule.timeScale}`;
  return [
    [
      'long outage',
      `${outage.minutes} min`,
      `${scaled}: ${outage.realSeconds} s of wall time, from ${outage.startedAtSeconds} s to ${outage.endedAtSeconds} s; ${outage.requestsRefused} requests answered 500`,
    ],
    ['- before it', '', phase('before')],
    ['- during it', '', phase('during')],
    ['- after it', '', phase('after')],
    ['- recovered in (s)', String(outage.recoverySeconds), 'from its end to the last acknowledgement'],
    [
      'retry schedule (s)',
      report.schedule.firstRetrySeconds.join(', '),
      `hidden after receive 1, 2, ...; ${report.options.maxReceiveCount} receives span ${round(report.schedule.retryWindowSeconds / 3600)} h ` +
        `before the DLQ${scaled === 'real time' ? '' : ` (${round((report.schedule.retryWindowSeconds * report.schedule.timeScale) / 3600)} h unscaled)`}`,
    ],
  ];
}

function ledgerRows(report: SoakReport): string[][] {
  const l = report.ledger;
  return [
    [
      'ledger file items',
      String(l.fileItems),
      `${l.filesDelivered} readable log files delivered, ${l.filesCollected} collected; ${l.newestItems} newest-file items ` +
        `(minutes of file names behind the newest collected: ${l.newest.map((n) => n.behindMinutes).join(', ') || 'none'}; ` +
        `moved at most every 5 minutes per process); table ${l.table}`,
    ],
    [
      'ledger: collected, no item',
      String(l.collectedNotInLedger),
      `${l.writeFailed} LedgerWriteFailed; ${l.unexpectedItems} items for files nobody generated`,
    ],
    [
      'ledger: wrong hash / records',
      `${l.hashMismatch} / ${l.recordsMismatch}`,
      `against the SHA-256 and record count of each file as generated (${l.bytesMismatch} with another size)`,
    ],
    [
      'ledger item size (bytes)',
      `${l.itemBytes.fileMean} / ${l.itemBytes.fileMax}`,
      `mean / max of the file items by DynamoDB's rules; newest-file items up to ${l.itemBytes.newestMax}`,
    ],
    [
      'ledger write units',
      String(l.writes.units),
      `${l.writes.puts} items put (${l.writes.putUnits} units), ${l.writes.updates + l.writes.updatesNotNewer} newest-file UpdateItem ` +
        `(${l.writes.updatesNotNewer} not newer), ${l.writes.failed} failed calls; ${l.writes.unitsPerFile} per file`,
    ],
    [
      'ledger $ per million files',
      l.writes.usdPerMillionFiles.toFixed(3),
      'writes at $0.625 per million write request units (on-demand, us-east-1)',
    ],
  ];
}

export function formatReport(report: SoakReport): string {
  const rows: string[][] = [
    [
      'topology',
      report.world.topology,
      report.world.tenants
        .map((tenant) => `${tenant.accountId} on ${tenant.queue} (${tenant.messages} messages)`)
        .join('; '),
    ],
    ['messages sent', String(report.messages.sent), kinds(report.messages.byKind)],
    ['poison planted', String(report.messages.poisonPlanted), kinds(report.messages.poisonByKind)],
    [
      'faults injected',
      String(report.faults.total),
      `downstream: ${kinds(report.faults.downstream)}; aws: ${kinds(report.faults.aws)}`,
    ],
    [
      'downstream outages',
      String(report.faults.downstreamOutages),
      `${report.faults.downstreamRequestsDuringOutages} requests answered 500 during them`,
    ],
    ...outageRows(report),
    [
      'breaker openings',
      String(report.counts.DownstreamBreakerOpened ?? 0),
      `${report.counts.MessagesDeferred ?? 0} messages deferred while open; ${report.counts.DownstreamBreakerClosed ?? 0} closings`,
    ],
    ['records generated', String(report.records.generated), 'eventIDs that must arrive'],
    [
      'records received (unique)',
      String(report.records.receivedUnique - report.records.fromPoisonObjects),
      `plus ${report.records.fromPoisonObjects} from planted poison objects, sent before their failure point`,
    ],
    [
      'records lost',
      String(report.records.lost),
      report.records.lost === 0
        ? ''
        : `${report.records.lostBeforeAnyReceive} of them in messages never received (dropped by the emulator); ${report.records.lostSample.join(', ')}`,
    ],
    ...report.records.lostFrom.map((from) => [
      `- from message #${from.index}`,
      String(from.lost),
      `${from.kind}, ${from.messageId}: ${from.received} receives (${from.outcomes.join('; ') || 'never received'})`,
    ]),
    ['unexpected records', String(report.records.unexpected), 'records nobody generated'],
    [
      'DLQ messages',
      String(report.dlq.messages),
      `${report.dlq.poisonFound} planted poison (+${report.dlq.poisonCopies} copies), ${report.dlq.unexpected.length} others; ${kinds(report.dlq.byQueue)}`,
    ],
    ['poison not in the DLQ', String(report.dlq.poisonMissing.length), report.dlq.poisonMissing.slice(0, 5).join(', ')],
    [
      'records accepted twice',
      String(report.duplicates.recordsAcceptedTwice),
      kinds(report.duplicates.recordsAcceptedTwiceByCause),
    ],
    [
      'batches dropped by key',
      String(report.duplicates.batchesDroppedByKey),
      `${report.duplicates.recordsInDroppedBatches} records resent and dropped downstream`,
    ],
    [
      'messages received',
      String(report.polling.received),
      `${report.polling.messagesReceivedMoreThanOnce} messages more than once, highest receive count ${report.polling.maxReceiveCount} ` +
        `(DLQ at ${report.options.maxReceiveCount}); ${report.polling.deleted} acknowledged, ${report.polling.failed} failed attempts`,
    ],
    [
      'batch duration (s)',
      `${report.polling.batchSeconds.median} / ${report.polling.batchSeconds.p99} / ${report.polling.batchSeconds.max}`,
      `median / p99 / max; ${report.polling.batchSeconds.overDeadline} batches ran past the ${report.options.batchTimeoutMs} ms deadline, ` +
        `${report.polling.messagesAcknowledgedTwice} messages were processed to the end twice ` +
        `(${report.polling.messagesDeliveredConcurrently} handed to two pollers at once)`,
    ],
    [
      'lambda instances',
      String(report.polling.coldStarts),
      `${report.options.pollers} at a time, ${report.polling.batches} batches, ${report.polling.pollerErrors} poller errors`,
    ],
    [
      'downstream requests',
      String(report.traffic.downstreamRequests),
      `${report.traffic.downstreamBatchesAccepted} batches accepted`,
    ],
    [
      'S3 GetObject / STS AssumeRole',
      `${report.traffic.s3GetObject} / ${report.traffic.stsAssumeRole}`,
      'requests, retries included',
    ],
    ...ledgerRows(report),
    ['seconds', String(report.seconds.total), `set-up ${report.seconds.setup}, drain ${report.seconds.drain}`],
    ['verdict', report.ok ? 'OK' : 'FAILED', report.problems.join('; ') || 'nothing lost, DLQ = planted poison'],
  ];
  return formatTable(['', 'value', 'detail'], rows);
}
