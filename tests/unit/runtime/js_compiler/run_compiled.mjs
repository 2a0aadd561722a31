// Run compiled code (stdin: {code, state}) on @openfn/runtime with no adaptor and print the
// final state: proves the runtime accepts what the compiler emits. argv[2]: the compiler's folder.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const runtime = path.resolve(process.argv[2], 'node_modules', '@openfn', 'runtime');
const entry = JSON.parse(readFileSync(path.join(runtime, 'package.json'), 'utf8')).exports['.'];
const { default: run } = await import(pathToFileURL(path.join(runtime, entry.import.default)).href);

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { code, state } = JSON.parse(input);
const silent = new Proxy({}, { get: () => () => {} }); // a logger that prints nothing
const result = await run(code, state, { logger: silent, jobLogger: silent });
process.stdout.write(JSON.stringify(result));
