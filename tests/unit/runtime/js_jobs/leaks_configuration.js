fn(state => {
  const { password, username } = state.configuration;
  console.log('the password is', password, 'and the user', username);
  console.log(state.configuration);
  return {
    ...state,
    data: {
      copied: state.configuration,
      nested: [{ deep: { value: `Bearer ${password}` } }],
      [password]: 'as a key',
    },
    references: [{ configuration: state.configuration }],
  };
});
