// Bench only: openfn-airflow's compiler standing in for @openfn/compiler 1.3.0, which the npm
// registry here does not have, so that @openfn/engine-multi runs the same compile step as ours.
//
// engine-multi (dist/worker/thread/run.js) imports exactly two things from @openfn/compiler:
//   compile(expression, {logger, name, 'add-imports': {adaptors: [{name, exports, exportAll}]}})
//     -> {code, map}
//   preloadAdaptorExports(pathToAdaptor, logger) -> string[] (the adaptor's export names)
// OpenFn's compiler reads the names from the adaptor's .d.ts; reading them from the module
// itself gives the same list and needs no TypeScript (as the project's compiler does).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ours = path.resolve(here, '../../../openfn_airflow/runtime/js/compiler.mjs');
const { compile: compileJob } = await import(pathToFileURL(ours).href);

/** The entry point of an installed package: exports['.'] (import), module, then main. */
function entryOf(manifest) {
  let entry = manifest.exports?.['.'] ?? manifest.exports;
  while (entry && typeof entry === 'object') {
    entry = entry.import ?? entry.default ?? entry.node ?? entry.require;
  }
  return entry ?? manifest.module ?? manifest.main ?? 'index.js';
}

export async function preloadAdaptorExports(pathToAdaptor) {
  const manifest = JSON.parse(await readFile(path.join(pathToAdaptor, 'package.json'), 'utf8'));
  const module = await import(pathToFileURL(path.join(pathToAdaptor, entryOf(manifest))).href);
  return Object.keys(module).filter((name) => name !== 'default');
}

export default function compile(expression, options = {}) {
  const adaptors = options['add-imports']?.adaptors ?? [];
  if (adaptors.length > 1) {
    throw new Error('the bench compiles jobs on one adaptor only');
  }
  const [adaptor] = adaptors;
  return compileJob(expression, {
    adaptor: adaptor ? adaptor.name : null,
    exports: adaptor ? adaptor.exports : [],
  });
}
