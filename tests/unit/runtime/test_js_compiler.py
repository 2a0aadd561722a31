"""The JavaScript job compiler: OpenFn's documented jobs in, the module OpenFn's runtime runs out.

The inputs and outputs of TABLE come from OpenFn's own compiler tests (OpenFn/kit,
packages/compiler/test) and the job examples of OpenFn's docs. Code is compared after printing
both sides in one canonical layout, so whitespace, quotes and parentheses do not matter but every
token does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import openfn_airflow

JS = Path(openfn_airflow.__file__).parent / "runtime" / "js"
HELPERS = Path(__file__).parent / "js_compiler"
HTTP = "@openfn/language-http@7.2.10"
#: Part of what language-http 7.2.10 exports; the runner reads the real list from the module.
HTTP_EXPORTS = [
    "execute",
    "fn",
    "fnIf",
    "each",
    "combine",
    "cursor",
    "dataValue",
    "field",
    "fields",
    "lastReferenceValue",
    "merge",
    "sourceValue",
    "get",
    "post",
    "put",
    "patch",
    "del",
    "request",
    "parseXML",
]
HTTP_IMPORT = 'export * from "@openfn/language-http";'
DEFER = 'import { defer as _defer } from "@openfn/runtime";'


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    expected: str
    adaptor: str | None = None
    exports: tuple[str, ...] = ()


def http(id: str, source: str, expected: str) -> Case:
    """A docs job on language-http 7.2.10."""
    return Case(id, source, expected, HTTP, tuple(HTTP_EXPORTS))


def job(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


TWITTER = job("""
    import { fn, each, combine } from '@openfn/language-common';
    import { fetchTweets } from '@openfn/language-twitter';

    // Writes an array to state as data.tweets.<userName>.tweets
    fetchTweets(() => state.result.user);

    // Sort all tweets into own tweets and RTs
    each(
      '$.data.tweets[*][*]',
      combine(
        fn((state) => {
          console.log(state.data.text);
          return state;
        }),
        fn((state) => {
          const { id, text } = state.data;
          if (text.startsWith('RT @')) {
            state.result.RTs.push(state.data.text);
          } else {
            state.result.ownTweets.push(state.data.text);
          }
          return state;
        })
      )
    );

    // tidy up & report
    fn((state) => {
      console.log(`Added ${state.result.ownTweets.length} own tweets`);
      console.log(`Added ${state.result.RTs.length} RTs`);

      return state.result;
    });
""")

# OpenFn/kit's packages/compiler/test/jobs/twitter.compiled.js, byte for byte.
TWITTER_COMPILED = job("""
    import { fn, each, combine } from '@openfn/language-common';
    import { fetchTweets } from '@openfn/language-twitter';

    export default [fetchTweets(() => state.result.user), each(
      '$.data.tweets[*][*]',
      combine(
        fn((state) => {
          console.log(state.data.text);
          return state;
        }),
        fn((state) => {
          const { id, text } = state.data;
          if (text.startsWith('RT @')) {
            state.result.RTs.push(state.data.text);
          } else {
            state.result.ownTweets.push(state.data.text);
          }
          return state;
        })
      )
    ), fn((state) => {
      console.log(`Added ${state.result.ownTweets.length} own tweets`);
      console.log(`Added ${state.result.RTs.length} RTs`);

      return state.result;
    })];
""")

TABLE = [
    # compile.test.ts: exports and top-level operations
    Case("empty job", "", "export default [];"),
    Case("one operation", "fn();", "export default [fn()];"),
    Case("no semicolon", "fn()", "export default [fn()];"),
    Case("operations in order", "fn();get();post();", "export default [fn(), get(), post()];"),
    Case("namespaced operation", "http.get();", "export default [http.get()];"),
    Case(
        "declaration stays",
        "const x = dateFns.parse()",
        "const x = dateFns.parse(); export default [];",
    ),
    Case(
        "existing exports untouched",
        "export const x = 10;export default [];",
        "export const x = 10; export default [];",
    ),
    Case("operation joins existing array", "fn(); export default [];", "export default [fn()];"),
    Case("optional chaining", "fn(a.b?.c);", "export default [fn(a.b?.c)];"),
    Case("nullish coalescing", "fn(a ?? b);", "export default [fn(a ?? b)];"),
    Case("twitter example", TWITTER, TWITTER_COMPILED),
    # lazy-state.test.ts
    Case("lazy state", "get($.data)", "export default [get(state => state.data)];"),
    Case("lazy state chain", "get($.a.b.c.d)", "export default [get(state => state.a.b.c.d)];"),
    Case("plain chain untouched", "get(a.b.c.d)", "export default [get(a.b.c.d)];"),
    Case(
        "lazy state in template",
        "get(`hello ${$.firstname} ${$.lastname}`)",
        "export default [get(state => `hello ${state.firstname} ${state.lastname}`)];",
    ),
    Case(
        "lazy state in state arrow",
        "get(state => `hello ${$.data}`)",
        "export default [get(state => `hello ${state.data}`)];",
    ),
    Case(
        "lazy state concatenation",
        'get($.firstname + " " + $.lastname)',
        'export default [get(state => state.firstname + " " + state.lastname)];',
    ),
    Case(
        "lazy state as property key",
        "get(city[$.location])",
        "export default [get(state => city[state.location])];",
    ),
    Case("dollar in a string stays", 'get("$.a.b")', 'export default [get("$.a.b")];'),
    Case(
        "lazy state in nested operation",
        "fn(() => {\n  get($.data)\n})",
        "export default [fn(() => { get(state => state.data) })];",
    ),
    Case(
        "top-level object untouched",
        "const x = { x: $.data };\nfn($.data)",
        "const x = { x: $.data }; export default [fn(state => state.data)];",
    ),
    Case(
        "$ parameter is no lazy state",
        "fn(($) => {\n  return $.a.b;\n})",
        "export default [fn(($) => { return $.a.b; })];",
    ),
    Case(
        "$ variable is no lazy state",
        "fn((s) => {\n  const $ = 10;\n  s.data = $.a.b;\n  return s;\n})",
        "export default [fn((s) => { const $ = 10; s.data = $.a.b; return s; })];",
    ),
    Case("lazy optional chain", "get($.a?.b.c)", "export default [get(state => state.a?.b.c)];"),
    Case("lazy state negated", "get(!$.data.x)", "export default [get(state => !state.data.x)];"),
    Case(
        "method call on state",
        "fn($.callMeMaybe($.age))",
        "export default [fn(state => state.callMeMaybe(state.age))];",
    ),
    Case(
        "method chain on state",
        "fn($.items.map(item => item.id))",
        "export default [fn(state => state.items.map(item => item.id))];",
    ),
    Case(
        "lazy state in a computed callee",
        "fn(handlers[$.kind](1))",
        "export default [fn(state => handlers[state.kind](1))];",
    ),
    Case(
        "lazy state in new",
        "get(new Date($.since))",
        "export default [get(state => new Date(state.since))];",
    ),
    # promises.test.ts and compile.test.ts
    Case(
        "then",
        "fn(x).then(() => {})",
        f"{DEFER} export default [_defer(fn(x), p => p.then(() => {{}}))];",
    ),
    Case(
        "catch",
        "fn(x).catch((e) => e)",
        f"{DEFER} export default [_defer(fn(x), undefined, (e) => e)];",
    ),
    Case(
        "then then",
        "fn(x).then((e) => e).then((e) => e)",
        f"{DEFER} export default [_defer(fn(x), p => p.then((e) => e).then((e) => e))];",
    ),
    Case(
        "catch then",
        "fn(x).catch((e) => e).then((s) => s)",
        f"{DEFER} export default [_defer(fn(x), p => p.then((s) => s), (e) => e)];",
    ),
    Case(
        "catch then catch",
        "fn(x).catch((e) => e).then((s) => s).catch(e => e)",
        f"{DEFER} export default [_defer(fn(x), p => p.then((s) => s).catch(e => e), (e) => e)];",
    ),
    Case(
        "defer imported once",
        "fn(x).then(s => s);\nfn(x).then(s => s);",
        f"{DEFER} export default [_defer(fn(x), p => p.then(s => s)), _defer(fn(x), p => p.then(s => s))];",
    ),
    Case(
        "defer imported after imports",
        "import x from 'y';\nfn(x).then(s => s);",
        f"import x from 'y'; {DEFER} export default [_defer(fn(x), p => p.then(s => s))];",
    ),
    Case(
        "promise in an argument",
        "fn(get(x).then(s => s), post(x).then(s => s));",
        f"{DEFER} export default [fn(_defer(get(x), p => p.then(s => s)), _defer(post(x), p => p.then(s => s)))];",
    ),
    Case(
        "promise in a callback untouched",
        "fn((state) => {\n  return get().then((s) => s)\n});",
        "export default [fn((state) => { return get().then((s) => s) })];",
    ),
    Case(
        "lazy state and promise",
        "get($.data.endpoint).then((s => { console.log(s.data); return state;} ));",
        f"{DEFER} export default [_defer(get(state => state.data.endpoint),"
        " p => p.then((s => { console.log(s.data); return state;} )))];",
    ),
    Case(
        "promise inside each",
        'each(\n  "$.data[*]",\n  post("/upsert", (state) => state.data).then((s) => s)\n)',
        f'{DEFER} export default [each("$.data[*]",'
        ' _defer(post("/upsert", (state) => state.data), p => p.then((s) => s)))];',
    ),
    # add-imports: what the job uses and the adaptor exports
    Case(
        "import what is used",
        "fn();",
        'import { fn } from "@openfn/language-common";'
        ' export * from "@openfn/language-common"; export default [fn()];',
        "@openfn/language-common@3.3.4",
        ("fn", "each", "execute"),
    ),
    Case(
        "already imported",
        "import { fn } from '@openfn/language-common'; fn();",
        "import { fn } from '@openfn/language-common'; export default [fn()];",
        "@openfn/language-common@3.3.4",
        ("fn", "execute"),
    ),
    Case("no adaptor, no imports", "fn(state => state);", "export default [fn(state => state)];"),
    # OpenFn docs job examples on language-http
    http(
        "fn",
        "fn(state => {\n  state.data = { ok: true };\n  return state;\n});",
        'import { fn } from "@openfn/language-http";'
        f" {HTTP_IMPORT} export default [fn(state => {{ state.data = {{ ok: true }}; return state; }})];",
    ),
    http(
        "get with query",
        "get('/cases', { query: { since: '2024-01-01', limit: 100 } });",
        'import { get } from "@openfn/language-http";'
        f" {HTTP_IMPORT} export default [get('/cases', {{ query: {{ since: '2024-01-01', limit: 100 }} }})];",
    ),
    http(
        "get with lazy query",
        "get('/cases', { query: { since: $.cursor } });",
        'import { get } from "@openfn/language-http";'
        f" {HTTP_IMPORT} export default [get('/cases', state => ({{ query: {{ since: state.cursor }} }}))];",
    ),
    http(
        "each with JSONPath string",
        "each('$.data.items[*]', post('/things', state => state.data));",
        'import { each, post } from "@openfn/language-http";'
        f" {HTTP_IMPORT} export default [each('$.data.items[*]', post('/things', state => state.data))];",
    ),
    http(
        "each with lazy state",
        "each($.data.items, post('/things', $.data));",
        'import { each, post } from "@openfn/language-http";'
        f" {HTTP_IMPORT}"
        " export default [each(state => state.data.items, post('/things', state => state.data))];",
    ),
    http(
        "cursor",
        "cursor($.cursor);\nget('/cases', { query: { since: $.cursor } });",
        'import { cursor, get } from "@openfn/language-http";'
        f" {HTTP_IMPORT} export default [cursor(state => state.cursor),"
        " get('/cases', state => ({ query: { since: state.cursor } }))];",
    ),
    http(
        "then on an operation",
        "fn(s => s).then(state => { console.log(state.data); return state; });",
        f'import {{ fn }} from "@openfn/language-http"; {HTTP_IMPORT} {DEFER}'
        " export default [_defer(fn(s => s), p => p.then(state => { console.log(state.data); return state; }))];",
    ),
    http(
        "catch on an operation",
        "post('/things', $.data).catch((error, state) => { state.failed = error.message; return state; });",
        f'import {{ post }} from "@openfn/language-http"; {HTTP_IMPORT} {DEFER}'
        " export default [_defer(post('/things', state => state.data), undefined,"
        " (error, state) => { state.failed = error.message; return state; })];",
    ),
    http(
        "own helpers are not imported",
        "function get(path) { return fn(s => s); }\nconst label = 'x';\nget('/x');\nfn(state => toUpper(label));",
        'import { fn } from "@openfn/language-http";'
        f" {HTTP_IMPORT} function get(path) {{ return fn(s => s); }} const label = 'x';"
        " export default [get('/x'), fn(state => toUpper(label))];",
    ),
    http(
        "compiled job keeps its exports",
        "export default [fn(s => s), get('/x')];",
        'import { fn, get } from "@openfn/language-http";'
        f" {HTTP_IMPORT} export default [fn(s => s), get('/x')];",
    ),
    http(
        "top-level await",
        "const token = await Promise.resolve('t');\nget('/x', { headers: { token } });",
        'import { get } from "@openfn/language-http";'
        f" {HTTP_IMPORT} const token = await Promise.resolve('t');"
        " export default [get('/x', { headers: { token } })];",
    ),
]

REJECTED = [
    # (id, source, kind, message without position, line, column)
    (
        "$ in a declaration",
        "const x = $.data;",
        "LazyStateError",
        "$ can only be used inside",
        1,
        10,
    ),
    ("$ assigned", "$.data = 20;", "LazyStateError", "$ can only be used inside", 1, 0),
    (
        "$ assigned in a block",
        "fn(() => { $.data = 20; })",
        "LazyStateError",
        "$ can only be used inside",
        1,
        11,
    ),
    (
        "$ multi assignment",
        "const z = $.data = 20;",
        "LazyStateError",
        "$ can only be used inside",
        1,
        10,
    ),
    (
        "$ under a parameter not called state",
        "get((s) => `hello ${$.data}`)",
        "LazyStateError",
        'parameter "s" should be called "state"',
        1,
        4,
    ),
    (
        "$ under two parameters",
        "get((state, b) => `hello ${$.data}`)",
        "LazyStateError",
        "a function using $ must take exactly one parameter",
        1,
        4,
    ),
    (
        "syntax error",
        "fn(state => {\n  return state;\n}));\n",
        "SyntaxError",
        "Unexpected token",
        3,
        2,
    ),
    (
        "top-level return",
        "fn(s => s);\nreturn 1;",
        "SyntaxError",
        "'return' outside of function",
        2,
        0,
    ),
]


def node() -> str:
    """The node executable; skips without one (fails under CI)."""
    found = shutil.which("node")
    if found is None:
        message = "Node.js 20+ is needed for the JavaScript compiler tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not (JS / "node_modules" / "recast").is_dir():
        pytest.fail(f"the compiler's packages are not installed: run npm ci --prefix {JS}")
    return found


def run_node(script: Path, payload: Any, *flags: str) -> Any:
    """Run a Node script with ``payload`` as JSON on stdin and return its JSON output."""
    result = subprocess.run(
        [node(), *flags, str(script), str(JS)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def compile_jobs(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_node(JS / "compile-cli.mjs", jobs)  # type: ignore[no-any-return]


def compile_job(
    source: str, adaptor: str | None = None, exports: list[str] | None = None
) -> dict[str, Any]:
    [result] = compile_jobs([{"source": source, "adaptor": adaptor, "exports": exports or []}])
    return result


@pytest.fixture(scope="module")
def compiled() -> dict[str, tuple[str, str]]:
    """Every TABLE case's (compiled, expected) code, both printed canonically: two Node runs."""
    results = compile_jobs(
        [{"source": c.source, "adaptor": c.adaptor, "exports": list(c.exports)} for c in TABLE]
    )
    # A job that did not compile shows as a string holding its error, which never matches.
    codes = [result.get("code", json.dumps(json.dumps(result))) for result in results]
    printed = run_node(HELPERS / "canonical.mjs", codes + [c.expected for c in TABLE])
    return {c.id: (printed[i], printed[len(TABLE) + i]) for i, c in enumerate(TABLE)}


@pytest.mark.parametrize("case", TABLE, ids=[c.id for c in TABLE])
def test_compiles_as_openfn_does(case: Case, compiled: dict[str, tuple[str, str]]) -> None:
    actual, expected = compiled[case.id]
    assert actual == expected


def test_twitter_example_compiles_byte_for_byte() -> None:
    assert compile_job(TWITTER)["code"] == TWITTER_COMPILED


@pytest.fixture(scope="module")
def rejected() -> dict[str, dict[str, Any]]:
    results = compile_jobs([{"source": source} for _, source, *_ in REJECTED])
    return {case[0]: result for case, result in zip(REJECTED, results, strict=True)}


@pytest.mark.parametrize(
    ("id", "kind", "message", "line", "column"),
    [(id, kind, message, line, column) for id, _, kind, message, line, column in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_rejects_with_position(
    rejected: dict[str, dict[str, Any]], id: str, kind: str, message: str, line: int, column: int
) -> None:
    error = rejected[id]["error"]
    assert error["kind"] == kind
    assert error["message"].startswith(f"{kind}: {message}")
    assert error["message"].endswith(f"({line}:{column})")
    assert (error["line"], error["column"]) == (line, column)


def test_syntax_error_reads_as_acorn_reports_it() -> None:
    source = "const base = '/cases';\n\nget(base, { query: { since: $.cursor } );\n"
    assert compile_job(source, HTTP, HTTP_EXPORTS)["error"] == {
        "kind": "SyntaxError",
        "message": "SyntaxError: Unexpected token (3:39)",
        "line": 3,
        "column": 39,
    }


TYPICAL_JOB = job("""
    // Fetch new cases since the last run and forward each to the registry.
    const registry = '/registry/things';

    function toThing(item) {
      return { id: item.id, name: item.name.trim(), seen: new Date().toISOString() };
    }

    cursor($.cursor, { defaultValue: 'today' });

    get('/cases', {
      query: { since: $.cursor, limit: 100 },
    });

    fn(state => {
      state.data.items = state.data.items.map(toThing);
      return state;
    });

    each($.data.items, post(registry, $.data).then(state => {
      console.log('posted', state.data.id);
      return state;
    }));

    fn(state => {
      state.cursor = explode(state.data.items.length);
      return state;
    }).catch((error, state) => {
      state.failed = error.message;
      return state;
    });
""")


def test_source_map_leads_back_to_the_job_lines() -> None:
    result = compile_job(TYPICAL_JOB, HTTP, HTTP_EXPORTS)
    code, source = result["code"], TYPICAL_JOB.splitlines()
    markers = [
        "name.trim()",
        "since: state.cursor",
        "map(toThing)",
        "'posted'",
        "explode(",
        "failed",
    ]
    positions, expected_lines = [], []
    for marker in markers:
        [compiled_line] = [i for i, text in enumerate(code.splitlines()) if marker in text]
        column = code.splitlines()[compiled_line].index(marker)
        positions.append({"line": compiled_line + 1, "column": column})
        original = marker.replace("state.cursor", "$.cursor")
        [source_line] = [i for i, text in enumerate(source) if original in text]
        expected_lines.append(source_line + 1)
    # The compiled code moved: imports were added above and operations went into one array.
    assert [p["line"] for p in positions] != expected_lines
    found = run_node(HELPERS / "map_lookup.mjs", {"map": result["map"], "positions": positions})
    assert [f["line"] for f in found] == expected_lines
    assert {f["source"] for f in found} == {"src.js"}


def test_source_map_carries_the_job_and_its_operations() -> None:
    result = compile_job(TYPICAL_JOB, HTTP, HTTP_EXPORTS)
    source_map = result["map"]
    assert source_map["version"] == 3
    assert source_map["sources"] == ["src.js"]
    assert source_map["sourcesContent"] == [TYPICAL_JOB]
    assert source_map["operations"] == [
        {"name": "cursor", "line": 8, "order": 1},
        {"name": "get", "line": 10, "order": 2},
        {"name": "fn", "line": 14, "order": 3},
        {"name": "each", "line": 19, "order": 4},
        {"name": "fn", "line": 24, "order": 5},
    ]


def test_named_job_names_its_source() -> None:
    [result] = compile_jobs([{"source": "fn(s => s);", "name": "sync-cases"}])
    assert result["map"]["sources"] == ["sync-cases.js"]


def test_openfn_runtime_runs_the_compiled_job() -> None:
    source = job("""
        const add = (n) => (state) => ({ ...state, n: state.n + n });
        const record = (value) => (state) => ({ ...state, seen: [...state.seen, value(state)] });
        const boom = () => () => { throw new Error('no luck'); };

        add(1);
        record($.n);
        add(10).then((state) => ({ ...state, then: state.n }));
        boom().catch((error, state) => ({ ...state, caught: error.message }));
        record(`n is ${$.n}`);
    """)
    result = compile_job(source)
    assert "error" not in result
    final = run_node(
        HELPERS / "run_compiled.mjs",
        {"code": result["code"], "state": {"n": 0, "seen": []}},
        "--experimental-vm-modules",
        "--no-warnings",
    )
    assert final == {"n": 11, "seen": [1, "n is 11"], "then": 11, "caught": "no luck", "data": {}}
