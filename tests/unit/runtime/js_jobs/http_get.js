// language-http 7 on the configuration's baseUrl; an answer of 404 is an AdaptorError (a fail).
get($.data.path);
fn(state => {
  console.log('answered', state.response.statusCode);
  return { ...state, response: undefined };
});
