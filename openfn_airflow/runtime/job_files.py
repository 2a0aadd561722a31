"""Load a job file: Python defining ``operations = [op, ...]`` at module level.

Compiled code is cached by (path, mtime_ns, size); each load executes it as a fresh module, so
module-level values never leak from one run into the next and a run still costs microseconds.
"""

from __future__ import annotations

import ast
import os
import sys
import traceback
import types
from pathlib import Path
from typing import Any

from .state import Operation


class JobLoadError(Exception):
    """The job file cannot be used; the message names the file, the line and the problem."""


_compiled: dict[str, tuple[int, int, types.CodeType, str]] = {}


def load_job(path: str | os.PathLike[str]) -> list[Operation]:
    """Return the operations a job file defines; raise ``JobLoadError`` when it cannot load."""
    filename = os.path.abspath(path)
    code, name = _code(filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    # Registered while it executes: dataclasses, typing and pickle look modules up by name.
    sys.modules[module.__name__] = module
    try:
        exec(code, module.__dict__)
    except (Exception, SystemExit) as error:
        raise JobLoadError(_import_failure(filename, error)) from error
    finally:
        sys.modules.pop(module.__name__, None)
    return checked_operations(module.__dict__.get("operations", _MISSING), filename)


def checked_operations(operations: Any, filename: str | None = None) -> list[Operation]:
    """Return ``operations`` if it is a list of callables, else raise ``JobLoadError``."""
    if isinstance(operations, list) and all(callable(op) for op in operations):
        return operations
    where = f"{filename}{_operations_line(filename)}" if filename else "job"
    if operations is _MISSING:
        raise JobLoadError(
            f"{where}: no module-level `operations` list; define operations = [op1, op2, ...]"
        )
    if not isinstance(operations, list):
        raise JobLoadError(
            f"{where}: `operations` must be a list of operations, got {type(operations).__name__}"
        )
    index, operation = next((i, op) for i, op in enumerate(operations) if not callable(op))
    raise JobLoadError(
        f"{where}: operations[{index}] is a {type(operation).__name__} ({_short(operation)}),"
        " not an operation; each item must be a function of state, like fn(...) or get(...)"
    )


_MISSING = object()


def _code(filename: str) -> tuple[types.CodeType, str]:
    try:
        stat = os.stat(filename)
    except OSError as error:
        raise JobLoadError(f"{filename}: cannot read the job file ({error.strerror})") from None
    cached = _compiled.get(filename)
    if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2], cached[3]
    try:
        source = Path(filename).read_bytes()
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise JobLoadError(_syntax_failure(filename, error)) from None
    except (OSError, ValueError) as error:
        raise JobLoadError(f"{filename}: cannot read the job file ({error})") from None
    name = _module_name(filename)
    _compiled[filename] = (stat.st_mtime_ns, stat.st_size, code, name)
    return code, name


def _module_name(filename: str) -> str:
    stem = "".join(c if c.isalnum() else "_" for c in Path(filename).stem)
    return f"openfn_job_{stem}_{abs(hash(filename)):x}"


def _syntax_failure(filename: str, error: SyntaxError) -> str:
    message = f"{filename}, line {error.lineno}: {type(error).__name__}: {error.msg}"
    if error.text:
        message += f"\n    {error.text.rstrip()}"
        if error.offset:
            indent = len(error.text) - len(error.text.lstrip())
            message += "\n    " + " " * max(error.offset - 1 - indent, 0) + "^"
    return message


def _import_failure(filename: str, error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    line = f", line {frames[-1].lineno}" if frames else ""
    message = f"{filename}{line}: {type(error).__name__}: {error}"
    if frames and frames[-1].line:
        message += f"\n    {frames[-1].line}"
    return message


def _operations_line(filename: str) -> str:
    # Only on the error path: point at the `operations = ...` assignment when there is one.
    try:
        tree = ast.parse(Path(filename).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return ""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "operations" for t in targets):
            return f", line {node.lineno}"
    return ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
