// Translate positions in compiled code back to the job's own, with the source-map package the
// runtime uses. stdin: {map, positions: [{line, column}]}; stdout: [{source, line, column}].
// argv[2] is the folder holding the compiler's node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.argv[2], 'package.json'));
const { SourceMapConsumer } = require('source-map');

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { map, positions } = JSON.parse(input);
const consumer = new SourceMapConsumer(map);
const found = positions.map((position) => {
  const { source, line, column } = consumer.originalPositionFor(position);
  return { source, line, column };
});
process.stdout.write(JSON.stringify(found));
