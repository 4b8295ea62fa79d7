/**
 * Issue 17, must show 3: `status --html FILE` rendered by the real headless Chromium. The registry in the emulator
 * holds a small fleet (an error, a degraded account with a cost warning, a healthy one); the real CLI writes the
 * page; Chromium takes a screenshot and logs its network activity (--log-net-log, Chromium's NetLog). The check:
 * no request was made on behalf of the page (a request from a file:// page carries the network isolation key
 * "file://"), proven able to fail on a page that does load an image. Chromium's own background requests cannot
 * leave the machine: every host name resolves to nothing (--host-resolver-rules).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../testkit/cli';
import { accountRecord, createRegistry } from '../../testkit/registry';
import { REGION, useEmulator } from '../../testkit/test-emulator';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TABLE = 'accounts-status-page';
/** Where the screenshot is kept for a person to look at (STATUS_SCREENSHOT overrides). */
const SCREENSHOT = process.env.STATUS_SCREENSHOT ?? path.join(tmpdir(), 'cloudtrail-collector-status.png');

interface NetLog {
  constants: { logEventTypes: Record<string, number> };
  events: { type: number; params?: { url?: string; network_isolation_key?: string } }[];
}

/** Renders `page` (a file) in headless Chromium: the screenshot file and every URL requested for the page. */
function render(page: string, dir: string): { screenshot: string; pageRequests: string[] } {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM=/path)`);
  }
  const screenshot = path.join(dir, `${path.basename(page)}.png`);
  const netLog = path.join(dir, `${path.basename(page)}.netlog.json`);
  const profile = mkdtempSync(path.join(dir, 'profile-'));
  const result = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--host-resolver-rules=MAP * ~NOTFOUND',
      '--window-size=1280,1000',
      '--hide-scrollbars',
      `--screenshot=${screenshot}`,
      `--log-net-log=${netLog}`,
      `file://${page}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (result.status !== 0 || !existsSync(screenshot)) {
    throw new Error(`chromium failed (exit ${result.status}): ${result.error?.message ?? result.stderr.slice(-2000)}`);
  }
  const log = JSON.parse(readFileSync(netLog, 'utf8')) as NetLog;
  const startJob = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  const pageRequests = log.events
    .filter((event) => event.type === startJob && event.params?.network_isolation_key?.startsWith('file://'))
    .map((event) => event.params?.url ?? '');
  return { screenshot, pageRequests };
}

describe('status --html in headless Chromium', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'status-html-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the page shows the fleet and makes no request', async () => {
    await useEmulator();
    const registry = await createRegistry(TABLE, { region: REGION });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await registry.add(
      accountRecord({
        accountId: '111122223333',
        status: 'healthy',
        lastRunAt: hourAgo,
        lastRecordAt: hourAgo,
        findings: [],
      }),
    );
    await registry.add(
      accountRecord({
        accountId: '444455556666',
        status: 'degraded',
        lastRunAt: hourAgo,
        lastRecordAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
        findings: [
          {
            code: 'TOPIC_MISSING',
            severity: 'high',
            resource: 'arn:aws:sns:us-east-1:444455556666:t',
            message: 'gone',
          },
          {
            code: 'COST_DATA_EVENTS',
            severity: 'medium',
            resource: 'arn:aws:cloudtrail:us-east-1:444455556666:trail/t',
            message: 'the trail logs S3 data events: about $1,250.50/month at the assumed volume',
          },
        ],
      }),
    );
    await registry.add(
      accountRecord({
        accountId: '777788889999',
        status: 'error',
        lastRunAt: hourAgo,
        findings: [{ code: 'ROLE_UNASSUMABLE', severity: 'high', resource: 'role', message: 'AccessDenied' }],
      }),
    );

    const page = path.join(dir, 'status.html');
    const cli = await runCli(['status', '--html', page], { ACCOUNTS_TABLE: TABLE });
    expect(cli.stdout).toContain(`wrote ${page}: 3 accounts`);
    expect(cli.code).toBe(1); // two accounts are unhealthy
    const html = readFileSync(page, 'utf8');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(/i);
    // Worst first: the error, then the degraded account, then the healthy one.
    const order = ['777788889999', '444455556666', '111122223333'].map((id) => html.lastIndexOf(id));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain('<td class="num">$1,250.50</td>');
    expect(html).toContain('3 days ago');

    const rendered = render(page, dir);
    expect(rendered.pageRequests).toEqual([]);
    expect(statSync(rendered.screenshot).size).toBeGreaterThan(10_000);
    copyFileSync(rendered.screenshot, SCREENSHOT);
    process.stderr.write(`status page screenshot: ${SCREENSHOT}\n`);
  });

  test('the request check sees a page that does load something (it can fail)', () => {
    const page = path.join(dir, 'loads-an-image.html');
    writeFileSync(page, '<!DOCTYPE html><p>x</p><img src="http://status-check.invalid/pixel.png">');
    expect(render(page, dir).pageRequests).toEqual(['http://status-check.invalid/pixel.png']);
  });
});
