// Runs on the visit job's failure, with its initial state and the error.
fn(state => {
  console.log(`visit of ${state.data.name} failed`);
  return { ...state, alerted: state.data.name, had_error: Boolean(state.error) };
});
