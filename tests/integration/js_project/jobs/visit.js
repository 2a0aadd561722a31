// Register the patient of a clinic visit: a 422 from the API fails the run.
post('/patients', {
  name: $.data.name,
  invalid: $.data.invalid,
});

fn(state => {
  console.log(`registered patient ${state.data.id}`);
  return { ...state, patient_id: state.data.id };
});
