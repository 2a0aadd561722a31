// Print each JavaScript module given (a JSON array of strings on stdin) in one canonical layout,
// so tests compare compiled code exactly but not its whitespace, quotes or parentheses.
// argv[2] is the folder holding the compiler's node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.argv[2], 'package.json'));
const acorn = require('acorn');
const recast = require('recast');

const parser = {
  parse: (code) =>
    acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true }),
};

let input = '';
for await (const chunk of process.stdin) input += chunk;
const printed = JSON.parse(input).map(
  (code) => recast.prettyPrint(recast.parse(code, { parser }), { quote: 'double', tabWidth: 2 }).code
);
process.stdout.write(JSON.stringify(printed));
