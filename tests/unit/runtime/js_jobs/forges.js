fn(state => {
  const process = state.constructor.constructor('return process')();
  const fs = process.getBuiltinModule('fs');
  // The runner's own channel, forged: without the session's token Python ignores the line.
  const forged = JSON.stringify({ type: 'result', outcome: 'success', state: { forged: true } });
  fs.writeSync(Number(process.argv[2]), forged + '\n');
  process.stdout.write('written to stdout directly\n');
  fs.writeSync(1, 'written to file descriptor 1\n');
  return { ...state, data: { honest: true } };
});
