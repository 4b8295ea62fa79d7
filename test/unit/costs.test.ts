/**
 * The cost model against AWS's pricing rules (docs/costs.md lists each figure with its AWS page):
 * - CloudTrail User Guide, "Costs for Insights events": ApiCallRateInsight analyzes write management events,
 *   ApiErrorRateInsight analyzes read and write management events, both types analyze write events twice;
 * - Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings": an idle mapping keeps
 *   five long polls, and can optimize down to two; SQS quotas: a long poll waits at most 20 seconds; SQS pricing:
 *   every request is billed, $0.40 per million beyond the free million a month;
 * - CloudTrail pricing: network activity events are priced like data events ($0.10 per 100,000).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_COST_ASSUMPTIONS,
  ESM_IDLE_POLLERS,
  PRICES,
  actionCostImpact,
  eventSourceMappingPollingCost,
  idlePollingRequestsPerMonth,
  insightsCost,
  insightsCostForSelectors,
  insightsCostForTypes,
  networkActivityEventsCost,
} from '../../lambdas/reconcile/costs';

const defaults = DEFAULT_COST_ASSUMPTIONS;

describe('Insights, per type (CloudTrail User Guide, "Costs for Insights events")', () => {
  // AWS's example 1: 300,000 management events, 30,000 of them write events, both types: 330,000 analyzed.
  const example = { ...defaults, monthlyManagementEvents: 300_000 };

  test("AWS's example 1: both types on 270,000 read + 30,000 write events analyze 330,000 events", () => {
    const both = insightsCostForTypes(['ApiCallRateInsight', 'ApiErrorRateInsight'], example, 0.1);
    expect(both.note).toContain('330,000 events analyzed');
    // 330,000 / 100,000 x $0.35 = $1.155, rounded to the cent
    expect([1.15, 1.16]).toContain(both.monthlyUsd);
  });

  test('the API call rate type analyzes write events only; the API error rate type analyzes all of them', () => {
    expect(insightsCostForTypes(['ApiCallRateInsight'], example, 0.1).note).toContain('30,000 events analyzed');
    expect(insightsCostForTypes(['ApiErrorRateInsight'], example, 0.1).note).toContain('300,000 events analyzed');
    // 1,000,000 events: the error rate type alone $3.50, the call rate type alone (10% writes) $0.35.
    expect(insightsCostForTypes(['ApiErrorRateInsight'], defaults).monthlyUsd).toBe(3.5);
    expect(insightsCostForTypes(['ApiCallRateInsight'], defaults).monthlyUsd).toBe(0.35);
    expect(insightsCostForTypes([], defaults).monthlyUsd).toBe(0);
  });

  test('types not observed are priced as both types (the upper bound), and say so: what COST_INSIGHTS reports', () => {
    const unknown = insightsCostForTypes('unknown', defaults);
    const both = insightsCostForTypes(['ApiCallRateInsight', 'ApiErrorRateInsight'], defaults);
    expect(unknown.monthlyUsd).toBe(both.monthlyUsd);
    expect(unknown.monthlyUsd).toBe(3.85); // 1,100,000 analyzed
    expect(unknown.note).toContain('upper bound');
    // insightsCost (the COST_INSIGHTS amount) is the error rate type's, and its note gives the both-types amount.
    expect(insightsCost(defaults).monthlyUsd).toBe(3.5);
    expect(insightsCost(defaults).note).toMatch(
      /^\$3\.50\/month for the API error rate Insights type.*\$3\.85\/month with the API call rate type on too/,
    );
  });

  test('observed selectors: management types as above, each type on data events analyzes every data event', () => {
    const management = [{ type: 'ApiErrorRateInsight' as const, categories: ['Management' as const] }];
    expect(insightsCostForSelectors(management, defaults)).toEqual(
      insightsCostForTypes(['ApiErrorRateInsight'], defaults),
    );
    // 10,000,000 data events, both types on data: 20,000,000 analyzed = $70.00; plus $3.50 on management events.
    const mixed = [
      { type: 'ApiErrorRateInsight' as const, categories: ['Management' as const, 'Data' as const] },
      { type: 'ApiCallRateInsight' as const, categories: ['Data' as const] },
    ];
    const cost = insightsCostForSelectors(mixed, defaults);
    expect(cost.monthlyUsd).toBe(73.5);
    expect(cost.note).toContain('20,000,000 events analyzed ($70.00');
    expect(insightsCostForSelectors([], defaults).monthlyUsd).toBe(0);
  });

  test('a write share outside 0..1 is rejected, naming it', () => {
    expect(() => insightsCostForTypes(['ApiCallRateInsight'], defaults, 1.5)).toThrow('writeShare');
    expect(() => insightsCostForTypes(['ApiCallRateInsight'], defaults, Number.NaN)).toThrow('writeShare');
  });
});

describe('the event source mapping polls an empty queue, billed to the queue owner', () => {
  test('5 pollers with 20-second long polls: 648,000 ReceiveMessage requests in a 30-day month; 2 pollers: 259,200', () => {
    expect(ESM_IDLE_POLLERS).toEqual({ max: 5, min: 2 });
    expect(idlePollingRequestsPerMonth(5)).toBe(648_000);
    expect(idlePollingRequestsPerMonth(2)).toBe(259_200);
  });

  test('CREATE_ESM and ENABLE_ESM are not "$0 to the customer": up to $0.26 a month a queue beyond the free tier', () => {
    for (const code of ['CREATE_ESM', 'ENABLE_ESM'] as const) {
      const impact = actionCostImpact(code, defaults);
      expect(impact.monthlyUsd).toBe(0.26); // 648,000 / 1,000,000 x $0.40 = $0.2592
      expect(impact.note).not.toContain('$0 to the customer');
      expect(impact.note).toMatch(/^\$0\.26\/month at most, to the customer \(the queue owner\)/);
      expect(impact.note).toContain('259,200 to 648,000 requests a month');
      expect(impact.note).toContain('AWS Organization shares');
      expect(impact.note).toContain('until the mapping is deleted');
    }
  });

  test('scales with the number of idle queues; a bad queue count is rejected', () => {
    expect(eventSourceMappingPollingCost(10).monthlyUsd).toBe(2.59);
    expect(() => eventSourceMappingPollingCost(0)).toThrow('queues');
    expect(() => eventSourceMappingPollingCost(1.5)).toThrow('queues');
  });

  test('the prices it uses', () => {
    expect(PRICES.sqsRequestsPerMillion).toBe(0.4);
    expect(PRICES.sqsFreeRequestsPerMonth).toBe(1_000_000);
  });
});

describe('network activity events (CloudTrail pricing: billed like data events)', () => {
  test('$0.10 per 100,000, on the data event volume estimate', () => {
    expect(PRICES.networkActivityEventsPer100k).toBe(PRICES.dataEventsPer100k);
    const impact = networkActivityEventsCost(defaults);
    expect(impact.monthlyUsd).toBe(10);
    expect(impact.note).toContain('network activity events at $0.10 per 100,000');
    expect(impact.note).toContain('10,000,000 network activity events a month');
  });
});

describe('docs/costs.md quotes these figures as the code computes them', () => {
  const doc = readFileSync(path.join(__dirname, '../../docs/costs.md'), 'utf8');
  const fifty = { ...defaults, monthlyManagementEvents: 50_000_000 };

  test('the event source mapping: requests, the per-queue amount, and an organization of ten accounts', () => {
    expect(doc).toContain(`= ${idlePollingRequestsPerMonth(5).toLocaleString('en-US')} requests a month`);
    expect(doc).toContain(`= ${idlePollingRequestsPerMonth(2).toLocaleString('en-US')} requests a month`);
    expect(doc).toContain(`$${eventSourceMappingPollingCost(1).monthlyUsd.toFixed(2)} a month per idle queue`);
    const organization = 10 * idlePollingRequestsPerMonth(5);
    const beyond = organization - PRICES.sqsFreeRequestsPerMonth;
    expect(doc).toContain(`${organization.toLocaleString('en-US')} requests a month`);
    expect(doc).toContain(`${beyond.toLocaleString('en-US')} beyond the free tier`);
    expect(doc).toContain(`$${((beyond / 1_000_000) * PRICES.sqsRequestsPerMillion).toFixed(2)} a month`);
    expect(doc).not.toContain('$0 to the customer');
  });

  test('Insights per type in the worked example, and the network activity price', () => {
    expect(doc).toContain(`$${insightsCost(fifty).monthlyUsd.toFixed(2)} a month for the API error rate type`);
    expect(doc).toContain(
      `$${insightsCostForTypes('unknown', fifty).monthlyUsd.toFixed(2)} with the API call rate type`,
    );
    expect(doc).toContain('270,000 read and 30,000 write events, is 330,000');
    expect(doc).toContain(`$${PRICES.networkActivityEventsPer100k.toFixed(2)} per 100,000 events, like data events`);
  });

  test('every price constant has a row in "Where each figure comes from", with an AWS page', () => {
    const section = doc.slice(doc.indexOf('## Where each figure comes from'));
    expect(section.length).toBeGreaterThan(100);
    const quoted = [
      `$${PRICES.additionalManagementCopyPer100k.toFixed(2)} per 100,000`,
      `$${PRICES.dataEventsPer100k.toFixed(2)} per 100,000`,
      `$${PRICES.networkActivityEventsPer100k.toFixed(2)} per 100,000`,
      `$${PRICES.insightsPer100kAnalyzed.toFixed(2)} per 100,000 events analyzed`,
      `$${PRICES.cloudWatchLogsIngestionPerGb.toFixed(2)} per GB`,
      `$${PRICES.s3StandardPerGbMonth} per GB-month`,
      `$${PRICES.sqsRequestsPerMillion.toFixed(2)} per million`,
      `${PRICES.sqsFreeRequestsPerMonth / 1_000_000} million requests a month free`,
      `$${PRICES.s3ListRequestsPer1k} per 1,000 PUTs and LISTs`,
      `$${PRICES.s3GetRequestsPer1k} per 1,000 GETs`,
    ];
    expect(Object.keys(PRICES).length).toBe(quoted.length);
    for (const figure of quoted) {
      const row = section.split('\n').find((line) => line.includes(figure));
      expect({ figure, row: row !== undefined && /https:\/\/(docs\.)?aws\.amazon\.com\//.test(row) }).toEqual({
        figure,
        row: true,
      });
    }
  });
});
