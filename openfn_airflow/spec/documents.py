"""Reading a spec file: `yaml.safe_load`, plus the duplicate keys safe_load silently drops."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from openfn_airflow.spec.problems import Problem, Problems, SpecError, SpecPath

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Document:
    """A parsed spec file: its data and the problems found while reading it."""

    data: object
    problems: Problems = field(default_factory=Problems)


class SpecLoader(yaml.SafeLoader):
    """A SafeLoader that reports duplicate mapping keys instead of keeping the last one."""

    def load_document(self) -> Document:
        """Load the single document of the stream, with a problem for every duplicate key."""
        problems = Problems()
        node = self.get_single_node()
        if node is None:
            return Document(None, problems)
        self._check_keys(node, (), problems, set())
        return Document(self.construct_document(node), problems)

    def _check_keys(self, node: Node, path: SpecPath, problems: Problems, seen: set[int]) -> None:
        if id(node) in seen:  # an alias: already checked where its anchor is
            return
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self._check_keys(item, (*path, index), problems, seen)
        if not isinstance(node, MappingNode):
            return
        first_lines: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue  # merged keys may be overridden; non-text keys are reported later
            key, line = key_node.value, key_node.start_mark.line + 1
            identity = (key_node.tag, key)
            if identity in first_lines:
                problems.add(
                    (*path, key),
                    f'duplicate key "{key}" (line {line})',
                    f'{_duplicate_rule(path)}; the first "{key}" is on line {first_lines[identity]}',
                )
            else:
                first_lines[identity] = line
            self._check_keys(value_node, (*path, key), problems, seen)


def _duplicate_rule(parent: SpecPath) -> str:
    if parent == ("jobs",):
        return "each job name may appear once"
    if parent == ("triggers",):
        return "each trigger name may appear once"
    return "each key may appear once in a mapping"


def read_document(path: Path) -> Document:
    """Read and parse the spec at `path`.

    Raises SpecError when the file cannot be read or is not YAML at all; duplicate keys are
    problems in the returned document, not errors.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(
            [Problem("", "the file does not exist", "give the path of a project.yaml")], path
        ) from None
    except OSError as error:
        raise SpecError(
            [Problem("", f"cannot read the file: {error.strerror or error}")], path
        ) from None
    loader = None
    try:
        loader = SpecLoader(raw)
        return loader.load_document()
    except yaml.YAMLError as error:
        raise SpecError([_yaml_problem(error)], path) from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(error: yaml.YAMLError) -> Problem:
    if isinstance(error, yaml.reader.ReaderError):
        return Problem(
            "",
            f"not readable as text: {error.reason} (byte {error.position})",
            "save the file as UTF-8",
        )
    hint = "check the indentation and quoting around that line"
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return Problem("", f"not valid YAML: {error}", hint)
    mark = error.problem_mark
    message = f"not valid YAML: {error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    if error.context:
        started = error.context_mark
        where = f" on line {started.line + 1}" if started and started.line != mark.line else ""
        message += f", {error.context}{where}"
    if "could not determine a constructor" in str(error.problem):
        hint = "only plain YAML is allowed: remove the !tag"
    return Problem("", message, hint)
