/**
 * A progress line for long commands (apply, organizations sync, dlq redrive): on a terminal, one line on stderr
 * rewritten in place ("apply: 120/10000 accounts, 2 failed, 41s"); on a pipe nothing at all, so stderr stays the
 * JSON-lines log and stdout the result (docs/operations.md).
 */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressCounts {
  done: number;
  total: number;
  failed: number;
}

export interface ProgressLine {
  update(counts: ProgressCounts): void;
  /** Leaves the last line standing (on a terminal) and stops. */
  finish(): void;
}

/** At most this often is the line redrawn; the first and the last update always are. */
const REDRAW_MS = 100;

export function progressLine(
  label: string,
  unit: string,
  options: { stream?: ProgressStream; now?: () => number } = {},
): ProgressLine {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY !== true) return { update: () => undefined, finish: () => undefined };
  const now = options.now ?? Date.now;
  const started = now();
  let drawnAt: number | undefined;
  let last: ProgressCounts | undefined;
  const draw = (counts: ProgressCounts) => {
    const seconds = Math.floor((now() - started) / 1000);
    const elapsed =
      seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
    // \r and "erase line" (ECMA-48 EL, CSI 2 K): the line is rewritten in place.
    stream.write(`\r\x1b[2K${label}: ${counts.done}/${counts.total} ${unit}, ${counts.failed} failed, ${elapsed}`);
    drawnAt = now();
  };
  return {
    update(counts) {
      last = counts;
      if (drawnAt === undefined || counts.done === counts.total || now() - drawnAt >= REDRAW_MS) draw(counts);
    },
    finish() {
      if (last !== undefined) {
        draw(last);
        stream.write('\n');
      }
      last = undefined;
    },
  };
}
