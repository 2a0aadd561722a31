// Bench driver: run one job N times, one after the other, on OpenFn's own engine
// (@openfn/engine-multi 1.13.0: a pool of child processes, a fresh worker thread per run).
//
//   node engine_multi.mjs --repo DIR --job FILE --adaptor NAME@VERSION --runs N [--hold]
//
// Prints JSON lines on stdout, times in seconds on CLOCK_MONOTONIC (process.hrtime, the clock of
// Python's time.monotonic), so bench/js_runtime.py can set them against its own:
//   {"event": "engine", "start": t, "ready": t}     createEngine() called / resolved
//   {"event": "ready"}                               with --hold, after one warm-up run: waits
//                                                    for a line on stdin before the N runs
//   {"event": "done", "runs": [[start, end], ...]}   the N runs (workflow-complete each)
// With --hold it waits for one more line on stdin after "done" (the parent reads the CPU of the
// process tree), then destroys the engine (waiting for its child processes) and exits.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const now = () => Number(process.hrtime.bigint()) / 1e9;
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string' },
    job: { type: 'string' },
    adaptor: { type: 'string' },
    runs: { type: 'string', default: '1' },
    hold: { type: 'boolean', default: false },
  },
});

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const waitForParent = async () => {
  await lines.next();
};

// Imported after the first clock reading is possible: the import is part of a fresh engine's cost.
const { default: createEngine } = await import('@openfn/engine-multi');
const { default: createLogger } = await import('@openfn/logger');

const expression = readFileSync(args.job, 'utf8');
const logger = createLogger('RTE', { level: 'none' });
let sequence = 0;

function runOnce(engine, n) {
  sequence += 1;
  const plan = {
    id: `bench-${process.pid}-${sequence}`,
    workflow: { steps: [{ id: 'job', expression, adaptors: [args.adaptor] }] },
    options: {},
  };
  return new Promise((resolve, reject) => {
    const events = engine.execute(plan, { data: { n } });
    events.on('workflow-complete', ({ state }) => {
      if (state?.data?.n !== n) {
        reject(new Error(`run ${n} returned ${JSON.stringify(state)}`));
      } else {
        resolve();
      }
    });
    events.on('workflow-error', (error) => reject(new Error(JSON.stringify(error))));
  });
}

const engineStart = now();
const engine = await createEngine({
  repoDir: args.repo,
  logger,
  maxWorkers: 1,
  // Never install into the shared adaptors repository: the bench installed what it needs.
  autoinstall: {
    handleInstall: async (specifier) => {
      throw new Error(`${specifier} is not installed in ${args.repo}`);
    },
  },
});
say({ event: 'engine', start: engineStart, ready: now() });

if (args.hold) {
  await runOnce(engine, -1); // warm: the pool's child process exists
  say({ event: 'ready' });
  await waitForParent();
}
const runs = [];
for (let n = 0; n < Number(args.runs); n += 1) {
  const start = now();
  await runOnce(engine, n);
  runs.push([start, now()]);
}
say({ event: 'done', runs });
if (args.hold) {
  await waitForParent();
}
await engine.destroy();
process.exit(0);
