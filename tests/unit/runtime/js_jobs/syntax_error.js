fn(state => {
  console.log('fine so far');
  return state;
});

fn(state => { const total = state.data.items.reduce((a, b) => a + b, ); return { ...state, total: total + } });
