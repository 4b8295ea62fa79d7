/**
 * Benchmark inputs, generated once into bench/out/inputs and reused while their parameters (and the sources of
 * the record generator) are unchanged:
 * - `small`: many small CloudTrail log files (tens to hundreds of records each, a few with thousands), packed
 *   into one file of concatenated gzip objects with an index, so that a run can hold them all in memory;
 * - `100mb` and `1gib`: one CloudTrail log file each, of 100 MB and 1 GiB uncompressed;
 * - `files`: 2,000 log files of 1-50 KB compressed (log-uniform, median ~7 KB), the size most CloudTrail files
 *   have: the per-file cost of ingest (bench/files.ts), packed like `small`.
 * Every file is `{"Records":[...]}` gzip-compressed at zlib's default level 6, as CloudTrail delivers them.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, statSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { constants, createGzip, gzipSync } from 'node:zlib';
import { seededRandom } from '../testkit/cloudtrail-generator';
import { BENCH_ACCOUNT, BENCH_REGION, benchRecord, benchRecords } from './records';

/** bench/: this file's folder, or (in the bundles bench/run.ts builds into bench/out/dist) given by run.ts. */
export const BENCH_DIR = process.env.BENCH_DIR ?? __dirname;
export const OUT_DIR = join(BENCH_DIR, 'out');
export const INPUT_DIR = join(OUT_DIR, 'inputs');

const GZIP_LEVEL = constants.Z_DEFAULT_COMPRESSION; // 6, what gzip and most SDKs write
const START = Date.UTC(2026, 10, 1);

export type InputName = 'small' | '100mb' | '1gib' | 'files';

/** The inputs that are many objects packed into one file with an index (read into memory by a run). */
export function isPacked(name: InputName): name is 'small' | 'files' {
  return name === 'small' || name === 'files';
}

export interface SmallFile {
  offset: number;
  length: number;
  records: number;
  bytes: number;
}

export interface InputManifest {
  name: InputName;
  params: Record<string, unknown>;
  /** The data file: one gzip object, or the pack of small ones. */
  file: string;
  files: number;
  records: number;
  /** Uncompressed bytes over all files. */
  bytes: number;
  compressedBytes: number;
  /** For `small` and `files`: where each object lies in the pack. */
  index?: SmallFile[];
  generatedAt: string;
  generationSeconds: number;
}

export const LARGE_TARGET_BYTES: Record<'100mb' | '1gib', number> = { '100mb': 100_000_000, '1gib': 1024 ** 3 };
export const SMALL_FILES = 400;
/** `files`: how many, and the range of their compressed sizes (bytes). */
export const FILES_COUNT = 2000;
export const FILES_MIN_COMPRESSED = 1024;
export const FILES_MAX_COMPRESSED = 50 * 1024;

/** Changes to the generators change their sources, and so the inputs. */
function sourcesDigest(): string {
  const hash = createHash('sha256');
  for (const file of [join(BENCH_DIR, 'records.ts'), join(BENCH_DIR, '..', 'testkit', 'cloudtrail-generator.ts')]) {
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function paramsFor(name: InputName, digest: string): Record<string, unknown> {
  const common = { format: 1, gzipLevel: 6, account: BENCH_ACCOUNT, region: BENCH_REGION, sources: digest };
  if (name === 'small') return { ...common, files: SMALL_FILES, seed: 1000 };
  if (name === 'files') {
    return {
      ...common,
      files: FILES_COUNT,
      minCompressed: FILES_MIN_COMPRESSED,
      maxCompressed: FILES_MAX_COMPRESSED,
      seed: 4000,
    };
  }
  return { ...common, targetBytes: LARGE_TARGET_BYTES[name], seed: name === '100mb' ? 2000 : 3000 };
}

function manifestPath(name: InputName): string {
  return join(INPUT_DIR, `${name}.json`);
}

export function readManifest(name: InputName): InputManifest {
  return JSON.parse(readFileSync(manifestPath(name), 'utf8')) as InputManifest;
}

function upToDate(name: InputName, params: Record<string, unknown>): InputManifest | undefined {
  if (!existsSync(manifestPath(name))) return undefined;
  const manifest = readManifest(name);
  if (JSON.stringify(manifest.params) !== JSON.stringify(params)) return undefined;
  const path = join(INPUT_DIR, manifest.file);
  if (!existsSync(path) || statSync(path).size !== manifest.compressedBytes) return undefined;
  return manifest;
}

/** Record counts of the small files: log-uniform over 10..700 for most (median ~80), a few tiny, a few up to 2000. */
function smallFileRecordCounts(files: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: files }, () => {
    const roll = random();
    if (roll < 0.07) return 1 + Math.floor(random() * 9);
    if (roll < 0.97) return Math.round(10 * 70 ** random());
    return 700 + Math.floor(random() * 1300);
  });
}

/** Writes log files (each a list of records) gzip-compressed into one pack, with the index of where each lies. */
async function writePack(
  name: 'small' | 'files',
  params: Record<string, unknown>,
  bodies: Iterable<{ json: Buffer; gz: Buffer; records: number }>,
): Promise<Omit<InputManifest, 'generationSeconds'>> {
  const file = `${name}.pack`;
  const tmp = join(INPUT_DIR, `${file}.tmp`);
  const out = createWriteStream(tmp);
  const index: SmallFile[] = [];
  let offset = 0;
  let records = 0;
  let bytes = 0;
  for (const { json, gz, records: count } of bodies) {
    if (!out.write(gz)) await once(out, 'drain');
    index.push({ offset, length: gz.length, records: count, bytes: json.length });
    offset += gz.length;
    records += count;
    bytes += json.length;
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, join(INPUT_DIR, file));
  return {
    name,
    params,
    file,
    files: index.length,
    records,
    bytes,
    compressedBytes: offset,
    index,
    generatedAt: new Date().toISOString(),
  };
}

function logFile(list: readonly unknown[]): { json: Buffer; gz: Buffer; records: number } {
  const json = Buffer.from(JSON.stringify({ Records: list }));
  return { json, gz: gzipSync(json, { level: GZIP_LEVEL }), records: list.length };
}

function generateSmall(params: Record<string, unknown>): Promise<Omit<InputManifest, 'generationSeconds'>> {
  const seed = params.seed as number;
  const counts = smallFileRecordCounts(params.files as number, seed);
  // A generator: the files are written as they are made, never all held at once.
  const bodies = function* () {
    for (const [i, count] of counts.entries()) {
      yield logFile(
        benchRecords(count, {
          accountId: BENCH_ACCOUNT,
          region: BENCH_REGION,
          seed: seed + 1 + i,
          start: new Date(START + i * 300_000),
        }),
      );
    }
  };
  return writePack('small', params, bodies());
}

/**
 * `files`: each file's compressed size is drawn log-uniformly between the bounds, then the file is the prefix of
 * one seeded record sequence whose gzip size comes closest to it (binary search on the record count).
 */
function generateFiles(params: Record<string, unknown>): Promise<Omit<InputManifest, 'generationSeconds'>> {
  const seed = params.seed as number;
  const low = params.minCompressed as number;
  const high = params.maxCompressed as number;
  const random = seededRandom(seed);
  const bodies = function* () {
    for (let i = 0; i < (params.files as number); i++) {
      const target = low * (high / low) ** random();
      const list = benchRecords(Math.ceil(high / 200), {
        accountId: BENCH_ACCOUNT,
        region: BENCH_REGION,
        seed: seed + 1 + i,
        start: new Date(START + i * 300_000),
      });
      // Smallest prefix whose gzip size reaches the target, then whichever of it and the one before is closer.
      let lo = 1;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (logFile(list.slice(0, mid)).gz.length < target) lo = mid + 1;
        else hi = mid;
      }
      const at = logFile(list.slice(0, lo));
      const before = lo > 1 ? logFile(list.slice(0, lo - 1)) : undefined;
      const pick =
        before && Math.abs(before.gz.length - target) < Math.abs(at.gz.length - target) && before.gz.length >= low
          ? before
          : at;
      yield pick;
    }
  };
  return writePack('files', params, bodies());
}

/** Streams one large log file, so that 1 GiB needs no 1 GiB of memory (like `writeLargeLogFile`). */
async function generateLarge(
  name: '100mb' | '1gib',
  params: Record<string, unknown>,
): Promise<Omit<InputManifest, 'generationSeconds'>> {
  const file = `${name}.json.gz`;
  const tmp = join(INPUT_DIR, `${file}.tmp`);
  const gzip = createGzip({ level: GZIP_LEVEL });
  const out = createWriteStream(tmp);
  gzip.pipe(out);
  const random = seededRandom(params.seed as number);
  const options = {
    accountId: BENCH_ACCOUNT,
    region: BENCH_REGION,
    seed: params.seed as number,
    start: new Date(START),
  };
  const target = params.targetBytes as number;
  let bytes = 0;
  let records = 0;
  // Writes go out in ~1 MiB pieces: one zlib call per record would make generation needlessly slow.
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    if (!gzip.write(pending.join(''))) await once(gzip, 'drain');
    pending = [];
    pendingBytes = 0;
  };
  const write = async (text: string) => {
    const size = Buffer.byteLength(text);
    bytes += size;
    pending.push(text);
    pendingBytes += size;
    if (pendingBytes >= 1 << 20) await flush();
  };
  await write('{"Records":[');
  while (bytes < target) {
    await write((records > 0 ? ',' : '') + JSON.stringify(benchRecord(random, options, records)));
    records += 1;
  }
  await write(']}');
  await flush();
  gzip.end();
  await once(out, 'finish');
  renameSync(tmp, join(INPUT_DIR, file));
  return {
    name,
    params,
    file,
    files: 1,
    records,
    bytes,
    compressedBytes: statSync(join(INPUT_DIR, file)).size,
    generatedAt: new Date().toISOString(),
  };
}

/** Returns the input's manifest, generating the input first unless an identical one is already there. */
export async function ensureInput(name: InputName, log: (line: string) => void): Promise<InputManifest> {
  mkdirSync(INPUT_DIR, { recursive: true });
  const params = paramsFor(name, sourcesDigest());
  const existing = upToDate(name, params);
  if (existing) {
    log(`input ${name}: reusing ${join('bench/out/inputs', existing.file)} (generated ${existing.generatedAt})`);
    return existing;
  }
  log(`input ${name}: generating (once; later runs reuse it)...`);
  const started = process.hrtime.bigint();
  const generated =
    name === 'small'
      ? await generateSmall(params)
      : name === 'files'
        ? await generateFiles(params)
        : await generateLarge(name, params);
  const manifest: InputManifest = { ...generated, generationSeconds: Number(process.hrtime.bigint() - started) / 1e9 };
  writeFileSync(manifestPath(name), JSON.stringify(manifest, null, 1));
  log(
    `input ${name}: ${manifest.files} file(s), ${manifest.records} records, ${(manifest.bytes / 1e6).toFixed(1)} MB ` +
      `(${(manifest.compressedBytes / 1e6).toFixed(1)} MB gzip) in ${manifest.generationSeconds.toFixed(1)} s`,
  );
  return manifest;
}
