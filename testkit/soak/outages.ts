/**
 * When the downstream is down during a soak: the fault mix's two short outages (3 s each, at 25% and 60% of the
 * messages done) and the long one (`outageMinutes`, scaled by the time scale, from `outageStart`). One at a time:
 * an outage due while another runs starts when that one ends.
 */
import { FAULT_RATES, type OutageStart, type SoakOptions } from './options';
import type { SoakSchedule } from './schedule';

export type OutageKind = 'short' | 'long';
export type Phase = 'before' | 'during' | 'after';

export interface OutageWindow {
  kind: OutageKind;
  startedAt: number;
  endsAt: number;
}

interface PendingOutage {
  kind: OutageKind;
  start: OutageStart;
  durationMs: number;
}

export class OutagePlan {
  private readonly pending: PendingOutage[] = [];
  readonly windows: OutageWindow[] = [];
  /** Requests the downstream answered 500 because of an outage, by kind. */
  readonly requestsRefused: Record<OutageKind, number> = { short: 0, long: 0 };

  constructor(options: Pick<SoakOptions, 'faults' | 'outageMinutes' | 'outageStart'>, schedule: SoakSchedule) {
    if (!options.faults) return;
    for (const fraction of FAULT_RATES.outagesAt) {
      this.pending.push({ kind: 'short', start: { percentDone: fraction * 100 }, durationMs: FAULT_RATES.outageMs });
    }
    if (options.outageMinutes > 0) {
      this.pending.push({ kind: 'long', start: options.outageStart, durationMs: schedule.outageMs });
    }
  }

  /** The outage under way at `now`, if any. */
  active(now: number): OutageWindow | undefined {
    return this.windows.find((window) => now >= window.startedAt && now < window.endsAt);
  }

  get long(): OutageWindow | undefined {
    return this.windows.find((window) => window.kind === 'long');
  }

  get plannedLong(): boolean {
    return this.long !== undefined || this.pending.some((outage) => outage.kind === 'long');
  }

  /** Before, during or after the long outage (`before` while it has not started, or when there is none). */
  phase(now: number): Phase {
    const long = this.long;
    if (!long || now < long.startedAt) return 'before';
    return now < long.endsAt ? 'during' : 'after';
  }

  /** Starts the first pending outage whose time has come, unless one is under way; returns it. */
  maybeStart(now: number, drainStartedAt: number, done: number, total: number): OutageWindow | undefined {
    if (this.active(now)) return undefined;
    const index = this.pending.findIndex(({ start }) =>
      'percentDone' in start
        ? done >= (start.percentDone / 100) * total
        : now - drainStartedAt >= start.afterSeconds * 1000,
    );
    if (index < 0) return undefined;
    const [outage] = this.pending.splice(index, 1) as [PendingOutage];
    const window = { kind: outage.kind, startedAt: now, endsAt: now + outage.durationMs };
    this.windows.push(window);
    return window;
  }

  /** For the downstream's fault policy: whether this request is refused, counted if so. */
  refuses(now: number): boolean {
    const window = this.active(now);
    if (!window) return false;
    this.requestsRefused[window.kind] += 1;
    return true;
  }
}
