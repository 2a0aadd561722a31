// As an OpenFn user writes it: lazy state, top-level operations, no imports.
fn(state => {
  console.log('source job saw', state.data.n);
  return state;
});
fnIf($.data.n > 0, state => ({ ...state, data: { ...state.data, tripled: state.data.n * 3 } }));
