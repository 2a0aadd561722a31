import { fn } from '@openfn/language-common';
export * from '@openfn/language-common';
export default [
  fn((state) => {
    const kept = [];
    for (let i = 0; i < state.data.arrays; i++) kept.push(new Array(100000).fill(i + 0.5));
    return { ...state, data: { arrays: kept.length } };
  }),
];
