fn(state => {
  return notDeclaredAnywhere.value;
});
