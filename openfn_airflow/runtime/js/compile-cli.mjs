// Compile jobs given as JSON on stdin, for tests and the bench (the runner imports compiler.mjs).
//
// stdin: {source, adaptor?, exports?, name?} or an array of them.
// stdout: for each, {code, map} or {error: {kind, message, line, column}}; same shape as stdin.
import { compile, CompileError } from './compiler.mjs';

function compileOne({ source, adaptor = null, exports = [], name }) {
  try {
    return compile(source, { adaptor, exports, name });
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    const { kind, message, line, column } = error;
    return { error: { kind, message, line, column } };
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const request = JSON.parse(input);
const result = Array.isArray(request) ? request.map(compileOne) : compileOne(request);
process.stdout.write(JSON.stringify(result));
