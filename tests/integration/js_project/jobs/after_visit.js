// Runs on the visit job's success, with its final state.
fn(state => {
  console.log(`welcome patient ${state.patient_id}`);
  return { ...state, welcomed: state.patient_id };
});
