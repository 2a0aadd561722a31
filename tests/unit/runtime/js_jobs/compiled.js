// Already in the form OpenFn's compiler produces: the runtime runs it as is.
import { fn } from '@openfn/language-common';
export * from '@openfn/language-common';
export default [
  fn((state) => {
    const process = state.constructor.constructor('return process')();
    globalThis.runs = (globalThis.runs || 0) + 1;
    console.log('compiled job saw', state.data.n);
    return { ...state, data: { n: state.data.n, doubled: state.data.n * 2, runs: globalThis.runs, pid: process.pid } };
  }),
];
