fn(state => {
  const process = state.constructor.constructor('return process')();
  process.exit(0);
});
