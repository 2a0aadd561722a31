fn(state => {
  console.log('a line from the job');
  console.warn('a warning from the job');
  return state;
});
