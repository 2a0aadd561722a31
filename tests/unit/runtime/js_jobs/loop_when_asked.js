import { fn } from '@openfn/language-common';
export * from '@openfn/language-common';
export default [
  fn((state) => {
    const process = state.constructor.constructor('return process')();
    if (state.data.loop) {
      while (true) {} // the runtime's own timeout cannot stop this: only killing the process can
    }
    return { ...state, data: { pid: process.pid } };
  }),
];
