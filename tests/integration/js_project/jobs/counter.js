// Every minute: the cursor (the last successful run's final state) is carried to the next run.
fn(state => ({ ...state, count: (state.count || 0) + 1 }));
