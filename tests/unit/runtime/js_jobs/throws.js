fn(state => {
  throw new Error(`could not reach the API with ${state.configuration.password}`);
});
