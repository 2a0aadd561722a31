// Forward a clinic visit to the destination system: OpenFn's own job syntax, run by
// @openfn/runtime on the pinned @openfn/language-http (project.yaml: adaptor:).
post('/patients', {
  name: $.data.patient_name,
  visit_date: $.data.date,
});

fn(state => {
  console.log(`forwarded the visit of patient ${state.data.id}`);
  return { ...state, patient_id: state.data.id };
});
