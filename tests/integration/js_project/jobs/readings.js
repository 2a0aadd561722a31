// Batched: one DAG run takes every waiting reading, each its own ledger run.
fn(state => {
  console.log(`reading ${state.data.value}`);
  return { ...state, value: state.data.value };
});

get('/cases');

fn(state => ({ ...state, cases: state.data.items.length }));
