// The Node process of one job task (openfn_airflow/runtime/node.py starts and owns it).
//
// It compiles the job once, imports its adaptors once, then runs the job on @openfn/runtime once
// per request, each run in a fresh vm context (the runtime makes one per run). Python enforces
// the hard limits (timeout, memory, permissions): this process trusts nothing the job does.
//
// Protocol: JSON lines. Python writes requests on stdin (the first one opens the session and
// carries the credential; then one `run` per ledger run); this process answers on the file
// descriptor named in argv (not stdout, which a job reaches through the known escapes). Every
// answer carries the session's token, which lives only in this module's scope: a job writing to
// that descriptor itself cannot make a line Python accepts. Closing stdin ends the process.
//
// `runner.mjs --spare FD IDLE_SECONDS REPO ADAPTOR...` is a warm spare (node_spares.py): it imports
// the adaptors, then waits on the listening unix socket FD for the one task that claims it
// (proving it knows the key given on stdin); that connection is then its stdin and answer
// descriptor both. Unclaimed, it exits after IDLE_SECONDS.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';

import run, { NOTIFY_JOB_ERROR, getModuleEntryPoint } from '@openfn/runtime';

import { compile } from './compiler.mjs';
import { interceptRequests } from './test_mode.mjs';

const spare = process.argv[2] === '--spare';
let out = spare ? -1 : Number(process.argv[2]);
let token = '';

function writeLine(message) {
  // Synchronous, so that an answer is out before whatever comes next (even process.exit).
  const line = Buffer.from(`${JSON.stringify(message)}\n`);
  let done = 0;
  while (done < line.length) {
    try {
      done += fs.writeSync(out, line, done);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

const send = (message) => writeLine({ ...message, token });

// ---------------------------------------------------------------------------------------------
// Logging: the job's console (dropped when the job has `console: false`) and the runtime's lines.

let session = null; // {console, ...} once opened
let current = null; // the run under way, if any

function text(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack || String(value);
  if (value === null || typeof value !== 'object') return String(value);
  const seen = new WeakSet();
  try {
    return JSON.stringify(
      value,
      (_key, item) => {
        if (typeof item === 'bigint') return item.toString();
        if (item && typeof item === 'object') {
          if (seen.has(item)) return '[Circular]';
          seen.add(item);
        }
        return item;
      },
      2,
    );
  } catch {
    return inspect(value, { depth: 4 });
  }
}

const format = (args) => args.map(text).join(' ');

function emit(kind, line) {
  if (kind === 'job' && !(session && session.console)) return;
  send({ type: 'log', kind, line, run: current ? current.id : null });
}

function makeLogger(kind, { debug = false, plain = false } = {}) {
  const timers = {};
  const at = (prefix) => (...args) => {
    if (args.length) emit(kind, (plain ? '' : prefix) + format(args));
  };
  const logger = {
    log: at(''),
    info: at(''),
    success: at(''),
    always: at(''),
    print: at(''),
    warn: at('WARN: '),
    error: at('ERROR: '),
    trace: at('TRACE: '),
    debug: debug ? at('DEBUG: ') : () => {},
    dir: at(''),
    table: at(''),
    break: () => {},
    indent: () => {},
    force: () => {},
    unforce: () => {},
    confirm: async () => true,
    proxy: () => {},
    timer: (name) => {
      if (timers[name]) {
        const took = Date.now() - timers[name];
        delete timers[name];
        return `${took}ms`;
      }
      timers[name] = Date.now();
      return undefined;
    },
    options: {},
  };
  return logger;
}

// The runtime's own lines (steps starting and ending, errors); its debug lines are noise.
const runtimeLogger = makeLogger('runtime', { plain: true });
// What the job's `console` is inside its vm context.
const jobLogger = makeLogger('job', { debug: true });

// An adaptor logs through the host's console (request lines, warnings): kept like the runtime's
// lines. Writes to the process streams themselves come from a job reaching them (an escape) or a
// library: they are the job's output.
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir']) {
  const prefix = { warn: 'WARN: ', error: 'ERROR: ', debug: 'DEBUG: ', trace: 'TRACE: ' }[method] || '';
  console[method] = (...args) => emit('adaptor', prefix + format(args));
}
for (const stream of ['stdout', 'stderr']) {
  process[stream].write = (chunk, encoding, callback) => {
    const value = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    for (const line of value.replace(/\n$/, '').split('\n')) emit('job', line);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// Opening: adaptors imported (their export names feed the compiler), the job compiled once.

async function adaptorExports(repo, adaptor) {
  const entry = await getModuleEntryPoint(adaptor, undefined, repo);
  if (!entry) throw new Error(`${adaptor} is not installed in ${repo}`);
  const module = await import(pathToFileURL(entry.path).href);
  // As the runtime's linker reads a CommonJS adaptor: its names may sit under `default`.
  let target = module;
  if (module.__esModule && module.default?.default) target = module.default.default;
  else if (Object.keys(module).length === 1 && module.default && Object.keys(module.default).length) {
    target = module.default;
  }
  return { names: Object.keys(target), version: entry.version };
}

function compileError(error, source) {
  const line = error.line;
  const column = error.column + 1; // the compiler's columns are 0-based
  const message = String(error.message).replace(/ \(\d+:\d+\)$/, '');
  const src = source.split('\n')[line - 1] ?? '';
  return {
    line,
    column,
    message: `${message} (line ${line}, column ${column})`,
    lines: [`${line}: ${src}`, `${' '.repeat(String(line).length + 2 + column - 1)}^`],
  };
}

// Adaptors a spare imported before it was claimed, by specifier.
const imported = new Map();

async function open(request) {
  token = request.token;
  session = {
    name: request.name || 'job',
    adaptors: request.adaptors || [],
    repo: request.repo,
    console: request.console !== false,
    configuration: request.configuration ?? {},
  };
  if (request.testMode) {
    interceptRequests((method, url) => emit('runtime', `Test mode: ${method} ${url} not sent, answered 200 {}`));
  }
  const versions = [];
  let exportsOfFirst = [];
  for (const [index, adaptor] of session.adaptors.entries()) {
    try {
      const { names, version } = await (imported.get(adaptor) ?? adaptorExports(session.repo, adaptor));
      if (index === 0) exportsOfFirst = names;
      versions.push(version);
    } catch (error) {
      send({ type: 'could-not-start', node: process.version, message: `${adaptor} could not be loaded: ${error.message}` });
      return;
    }
  }
  try {
    const { code, map } = compile(request.source, {
      adaptor: session.adaptors[0] ?? null,
      exports: exportsOfFirst,
      name: session.name,
    });
    session.code = code;
    session.map = map;
  } catch (error) {
    if (typeof error.line === 'number') {
      send({ type: 'compile-error', node: process.version, ...compileError(error, request.source) });
      return;
    }
    send({ type: 'compile-error', node: process.version, message: `${error.name}: ${error.message}`, lines: [] });
    return;
  }
  send({ type: 'ready', node: process.version, adaptors: versions });
}

// ---------------------------------------------------------------------------------------------
// One run.

function oneLine(error) {
  const name = error?.name && error.name !== 'Error' ? error.name : error?.constructor?.name || 'Error';
  const message = error?.message ?? String(error);
  return `${name}: ${message}`.split('\n', 1)[0];
}

function finish(result) {
  if (!current) return;
  current = null;
  send({ type: 'result', ...result });
}

async function runOnce(request) {
  current = { id: request.id, started: Date.now() };
  let failure = null;
  const step = {
    id: session.name,
    name: session.name,
    expression: session.code,
    sourceMap: session.map,
    adaptors: session.adaptors,
    configuration: session.configuration,
  };
  try {
    const state = await run({ id: session.name, workflow: { steps: [step] }, options: {} }, request.state ?? {}, {
      logger: runtimeLogger,
      jobLogger,
      linker: { repo: session.repo, whitelist: [/^@openfn\//] },
      statePropsToRemove: ['configuration'],
      // Module hooks need worker threads, which the permission model denies this process.
      disableEsmHook: true,
      callbacks: {
        notify: (event, payload) => {
          if (event === NOTIFY_JOB_ERROR) failure = payload.error;
        },
      },
    });
    if (failure) {
      finish({ outcome: 'fail', error: oneLine(failure) });
    } else {
      finish({ outcome: 'success', state: state ?? null, ms: Date.now() - current.started });
    }
  } catch (error) {
    const thrown = failure ?? error;
    const severity = thrown?.severity;
    const outcome = severity === 'kill' ? 'kill' : severity === 'crash' ? 'crash' : 'exception';
    if (!failure) {
      // Not reported by the runtime (it threw before or after the step): say what it was.
      emit('runtime', `ERROR: ${thrown?.stack || oneLine(thrown)}`);
    }
    finish({ outcome, error: oneLine(thrown) });
  }
}

// Something the job started outside any operation failed later (a timer, a promise nobody
// awaited): the run under way, if any, crashed; the process is not trusted any further.
function fatal(error) {
  emit('runtime', `ERROR: uncaught ${error?.stack || oneLine(error)}`);
  finish({ outcome: 'crash', error: `Uncaught ${oneLine(error)}`, exiting: true });
  process.exit(70);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// ---------------------------------------------------------------------------------------------
// The request loop: one request at a time, in order.

let queue = Promise.resolve();

function handle(line) {
  if (!line.trim()) return;
  const request = JSON.parse(line);
  queue = queue.then(async () => {
    if (request.type === 'open') await open(request);
    else if (request.type === 'run') await runOnce(request);
  });
}

function readLines(stream, onLine) {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      onLine(line);
    }
  });
}

// Whoever ends this process (a job calling process.exit, the runner itself) says so first:
// Python may not be its parent, and cannot read its exit status otherwise.
process.on('exit', (code) => {
  if (token && out >= 0) {
    try {
      send({ type: 'exit', code });
    } catch {
      // the other side is gone
    }
  }
});

if (!spare) {
  readLines(process.stdin, handle);
  // The task is gone (or done with us): so is this process, whatever a job left running.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
} else {
  const [, , , listening, idleSeconds, repo, ...adaptors] = process.argv;
  const idle = setTimeout(() => process.exit(0), Number(idleSeconds) * 1000);
  let key = null;
  readLines(process.stdin, (line) => {
    key ??= line.trim();
  });
  process.stdin.on('error', () => {});
  // What makes a cold start slow, done before any task asks: the adaptors' imports.
  for (const adaptor of adaptors) {
    const loading = adaptorExports(repo, adaptor);
    loading.catch(() => process.exit(1)); // a broken spare is no spare
    imported.set(adaptor, loading);
  }
  const server = net.createServer({ pauseOnConnect: false });
  server.on('connection', (socket) => {
    server.close();
    clearTimeout(idle);
    let claimed = false;
    socket.on('close', () => process.exit(0));
    socket.on('error', () => process.exit(0));
    readLines(socket, (line) => {
      if (claimed) {
        handle(line);
        return;
      }
      const claim = JSON.parse(line);
      if (claim.type !== 'claim' || !key) process.exit(0);
      claimed = true;
      out = socket._handle.fd;
      const proof = createHmac('sha256', key).update(String(claim.nonce)).digest('hex');
      writeLine({ type: 'claimed', proof, pid: process.pid });
    });
  });
  server.listen({ fd: Number(listening) });
}
