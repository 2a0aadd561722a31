// Compile an OpenFn job expression into the ES module @openfn/runtime runs.
//
// OpenFn's own compiler (@openfn/compiler, packages/compiler in OpenFn/kit) is not on the npm
// registry here, so this does what its five transforms do, in its order:
//   1. lazy state: `get($.data.url)` -> `get(state => state.data.url)`
//   2. promises: top-level `op().then(f).catch(g)` -> `_defer(op(), p => p.then(f), g)`
//   3. ensure `export default [...]`
//   4. move every top-level call statement (an operation) into that array, in order
//   5. import the adaptor functions the job uses and re-export the adaptor (`export * from`)
// Untouched code is reprinted as written (recast), and the source map points at the job's lines.
import * as acorn from 'acorn';
import recast from 'recast';

const { builders: b, namedTypes: n } = recast.types;

/** A job that cannot be compiled; `line` is 1-based, `column` 0-based (as in the message). */
export class CompileError extends Error {
  constructor(kind, message, loc) {
    super(`${kind}: ${message} (${loc.line}:${loc.column})`);
    this.name = 'CompileError';
    this.kind = kind;
    this.line = loc.line;
    this.column = loc.column;
  }
}

const parser = {
  parse(source) {
    const comments = [];
    const tokens = [];
    // As OpenFn parses: an ES module of the latest syntax, so top-level await is allowed and a
    // top-level return is a syntax error (the runtime could not load such a module either).
    const ast = acorn.parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowHashBang: true,
      locations: true,
      onComment: comments,
      onToken: tokens,
    });
    ast.comments = comments;
    ast.tokens = tokens;
    return ast;
  },
};

function parse(source, name) {
  try {
    return recast.parse(source, { parser, sourceFileName: `${name}.js` });
  } catch (error) {
    if (error instanceof SyntaxError && error.loc) {
      // acorn appends "(line:column)" itself; CompileError adds it back in the same form.
      const message = error.message.replace(/ \(\d+:\d+\)$/, '');
      throw new CompileError('SyntaxError', message, error.loc);
    }
    throw error;
  }
}

/** The node paths from `path` up to the Program, as nodes: [node, parent, grandparent, ...]. */
function ancestry(path) {
  const nodes = [];
  for (let p = path; p; p = p.parent) nodes.push(p.node);
  return nodes;
}

const isStatement = (node) => /(Statement|Declaration)$/.test(node.type);

// `const x = { ... }` at the top of the job: OpenFn's compiler leaves such objects alone
// (no lazy state, no imports), and jobs written for it rely on that.
const isTopLevelObject = (path) =>
  n.ObjectExpression.check(path.node) &&
  n.VariableDeclarator.check(path.parent?.node) &&
  n.Program.check(path.parent.parent?.parent?.node);

function declaredInFunction(path, name) {
  for (let scope = path.scope; scope; scope = scope.parent) {
    if (!scope.isGlobal && scope.declares(name)) return true;
  }
  return false;
}

function declared(path, name) {
  for (let scope = path.scope; scope; scope = scope.parent) {
    if (scope.declares(name)) return true;
  }
  return false;
}

// 1. Lazy state. Every `$.x` (where `$` is not a variable of an enclosing function) becomes
// `state.x`, and the argument of the nearest enclosing call that holds it becomes
// `state => <argument>` unless it already is such a function.
function lazyState(ast) {
  const uses = [];
  recast.visit(ast, {
    visitObjectExpression(path) {
      if (isTopLevelObject(path)) return false;
      this.traverse(path);
    },
    visitMemberExpression(path) {
      const { object } = path.node;
      if (n.Identifier.check(object) && object.name === '$' && !declaredInFunction(path, '$')) {
        uses.push({ dollar: object, nodes: ancestry(path) });
      }
      this.traverse(path);
    },
  });
  const dollars = new Set(uses.map((use) => use.dollar));
  // `$.items.map(...)` is a call on state: part of the argument, not the operation.
  const onState = (call) => dollars.has(rootOf(call.callee));
  const wrapped = new Set(); // arguments already turned into `state => argument`
  for (const { dollar, nodes } of uses) {
    const [member] = nodes;
    let child = member;
    let call = null;
    for (const node of nodes.slice(1)) {
      if (isStatement(node)) break;
      const isArgument = wrapped.has(child) || node.arguments?.includes(child);
      if (n.CallExpression.check(node) && isArgument && !onState(node)) {
        call = node;
        break;
      }
      child = node;
    }
    if (!call) {
      throw new CompileError(
        'LazyStateError',
        '$ can only be used inside the arguments of an operation, like get($.data.url): ' +
          'elsewhere there is no state for it to read',
        member.loc.start
      );
    }
    dollar.name = 'state';
    if (wrapped.has(child) || isOpenFunction(child)) continue;
    const arrow = b.arrowFunctionExpression([b.identifier('state')], child);
    call.arguments[call.arguments.indexOf(child)] = arrow;
    wrapped.add(child);
  }
}

function rootOf(node) {
  for (;;) {
    if (n.MemberExpression.check(node)) node = node.object;
    else if (n.CallExpression.check(node)) node = node.callee;
    else if (n.ChainExpression.check(node)) node = node.expression;
    else return node;
  }
}

function isOpenFunction(node) {
  if (!n.ArrowFunctionExpression.check(node)) return false;
  if (node.params.length !== 1) {
    throw new CompileError(
      'LazyStateError',
      'a function using $ must take exactly one parameter, state',
      node.loc.start
    );
  }
  const [param] = node.params;
  if (n.Identifier.check(param) && param.name === 'state') return true;
  const name = n.Identifier.check(param) ? param.name : recast.print(param).code;
  throw new CompileError(
    'LazyStateError',
    `parameter "${name}" should be called "state" for $ to refer to it`,
    node.loc.start
  );
}

// 2. Promises. A `.then` / `.catch` chain on an operation outside any function is split by the
// runtime's defer(): the operation runs as an operation, the chain runs on its result.
const isChainCall = (node) =>
  n.CallExpression.check(node) &&
  n.MemberExpression.check(node.callee) &&
  !node.callee.computed &&
  /^(then|catch)$/.test(node.callee.property.name);

function promises(ast) {
  let deferred = false;
  recast.visit(ast, {
    visitFunction() {
      return false;
    },
    visitBlockStatement() {
      return false;
    },
    visitObjectExpression(path) {
      if (isTopLevelObject(path)) return false;
      this.traverse(path);
    },
    visitCallExpression(path) {
      if (isChainCall(path.node)) {
        const defer = rebuildPromiseChain(path.node);
        if (defer) {
          path.replace(defer);
          deferred = true;
          return false;
        }
      }
      this.traverse(path);
    },
  });
  const body = ast.program.body;
  if (deferred && !body.some(importsDefer)) {
    const at = body.findIndex((node) => !n.ImportDeclaration.check(node));
    const declaration = b.importDeclaration(
      [b.importSpecifier(b.identifier('defer'), b.identifier('_defer'))],
      b.stringLiteral('@openfn/runtime')
    );
    body.splice(at === -1 ? body.length : at, 0, declaration);
  }
}

const importsDefer = (node) =>
  n.ImportDeclaration.check(node) &&
  node.source.value === '@openfn/runtime' &&
  node.specifiers.some((s) => s.local?.name === '_defer');

// `op(x).then(f).then(g)` -> `_defer(op(x), p => p.then(f).then(g))`; a `.catch` straight after
// the operation becomes defer's third argument:
// `op(x).catch(h).then(f)` -> `_defer(op(x), p => p.then(f), h)`.
function rebuildPromiseChain(chain) {
  const links = []; // the calls from the outermost `.then/.catch` down to the one on the operation
  let op = chain;
  while (isChainCall(op)) {
    links.push(op);
    op = op.callee.object;
  }
  if (!n.CallExpression.check(op)) return null; // `promise.then(...)`: not an operation
  const first = links.at(-1);
  const args = [op];
  if (first.callee.property.name === 'catch') {
    const handler = first.arguments[0] ?? b.identifier('undefined');
    if (links.length === 1) {
      args.push(b.identifier('undefined'), handler);
    } else {
      links.at(-2).callee.object = b.identifier('p');
      args.push(b.arrowFunctionExpression([b.identifier('p')], chain), handler);
    }
  } else {
    first.callee.object = b.identifier('p');
    args.push(b.arrowFunctionExpression([b.identifier('p')], chain));
  }
  return b.callExpression(b.identifier('_defer'), args);
}

// 3 and 4. `export default [...]`, holding every top-level call statement in order. A job that
// already ends in `export default [...]` gets its remaining top-level calls appended, as OpenFn
// does; one with another kind of default export is left alone.
function exportOperations(ast) {
  const program = ast.program;
  const existing = program.body.find((node) => n.ExportDefaultDeclaration.check(node));
  if (!existing) program.body.push(b.exportDefaultDeclaration(b.arrayExpression([])));
  const target = program.body.at(-1);
  const operations = [];
  if (!n.ExportDefaultDeclaration.check(target) || !n.ArrayExpression.check(target.declaration)) {
    return operations;
  }
  program.body = program.body.filter((node) => {
    if (!n.ExpressionStatement.check(node) || !n.CallExpression.check(node.expression)) return true;
    const call = node.expression;
    // Name and line the runtime reports for an operation's error: a deferred operation's own.
    const named = call.callee.name === '_defer' && !call.loc ? call.arguments[0] : call;
    operations.push({
      name: named.callee.name ?? recast.print(named.callee).code,
      line: named.loc?.start.line ?? -1,
      order: operations.length + 1,
    });
    target.declaration.elements.push(call);
    return false;
  });
  return operations;
}

// 5. Adaptor imports: the names the job uses without declaring them that the adaptor exports.
function danglingIdentifiers(ast) {
  const found = new Set();
  recast.visit(ast, {
    visitObjectExpression(path) {
      if (isTopLevelObject(path)) return false;
      this.traverse(path);
    },
    visitIdentifier(path) {
      const { node } = path;
      const parent = path.parent?.node;
      if (isReference(node, parent) && !declared(path, node.name)) found.add(node.name);
      this.traverse(path);
    },
  });
  return found;
}

// Whether an identifier reads a variable, rather than naming a property, key, label or import.
function isReference(node, parent) {
  if (!parent) return true;
  switch (parent.type) {
    case 'MemberExpression':
      return parent.object === node || parent.computed;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return parent.value === node || parent.computed;
    case 'ImportSpecifier':
    case 'ImportDefaultSpecifier':
    case 'ImportNamespaceSpecifier':
    case 'ExportSpecifier':
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
    case 'MetaProperty':
      return false;
    default:
      return node.name !== 'undefined' && node.name !== 'NaN';
  }
}

function addImports(ast, adaptor, exports) {
  const used = danglingIdentifiers(ast);
  const names = [...new Set(exports)].filter((name) => name !== 'default' && used.has(name));
  if (!names.length) return;
  const source = b.stringLiteral(adaptor);
  ast.program.body.unshift(
    b.importDeclaration(
      names.map((name) => b.importSpecifier(b.identifier(name))),
      source
    ),
    b.exportAllDeclaration(source, null)
  );
}

/** `@openfn/language-http@7.2.10` -> `@openfn/language-http`: the linker maps the bare name. */
export function adaptorName(specifier) {
  const at = specifier.lastIndexOf('@');
  return at > 0 ? specifier.slice(0, at) : specifier;
}

/**
 * Compile a job's source; `adaptor` is "<name>@<version>" or null, `exports` the adaptor's export
 * names (only those are imported: a job's other undeclared names stay as written, so they fail
 * at run time as in plain JavaScript). Returns {code, map}: map is a version 3 source map (sources `[<name>.js]`, the job's text
 * in sourcesContent, OpenFn's `operations` list) from the code back to the job.
 * Throws CompileError (`.line`, `.column`) for a syntax error or a misplaced `$`.
 */
export function compile(source, { adaptor = null, exports = [], name = 'src' } = {}) {
  const ast = parse(source, name);
  lazyState(ast);
  promises(ast);
  const operations = exportOperations(ast);
  if (adaptor) addImports(ast, adaptorName(adaptor), exports);
  const { code, map } = recast.print(ast, { sourceMapName: `${name}.map.js` });
  map.operations = operations;
  return { code, map };
}

export default compile;
