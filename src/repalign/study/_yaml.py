"""A strict YAML reader for study configs: safe tags only, no duplicate keys, bounded aliases.

``yaml.safe_load`` already refuses Python tags. It still accepts a mapping that gives one
key twice (the last silently wins) and aliases that expand a 1 KB file into a billion
nodes (the "billion laughs"; the loader shares the nodes, but every walk over the result,
such as the validator's, visits them all). This reader refuses both, with one message
naming the file and the line.
"""

from __future__ import annotations

from typing import Any

from .._errors import InputError
from .._validation import optional_import

__all__ = ["MAX_EXPANDED_NODES", "load_yaml_text"]

#: The most nodes a config may expand to once its aliases are resolved (the paper's study
#: has about 60; an explicit list of 10,000 models stays far below).
MAX_EXPANDED_NODES = 100_000


def _loader_class(yaml: Any, source: str) -> type:
    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeLoader reports it itself
                    break
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise InputError(
                        f"{source}: line {line}: duplicate key {_short(key)} (first given on line {first}); "
                        "give each key once."
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expanded_size(root: Any, yaml: Any, source: str) -> int:
    """Nodes of the document with every alias expanded, computed without expanding them."""
    sizes: dict[int, int] = {}
    # iterative post-order: a deep document must not hit Python's recursion limit
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if children_done:
            total = 1 + sum(sizes.get(id(c), 0) for c in children)
            if total > MAX_EXPANDED_NODES:
                raise InputError(
                    f"{source}: line {node.start_mark.line + 1}: aliases expand this config to more than "
                    f"{MAX_EXPANDED_NODES:,} values (an alias bomb?); write the values out instead of nesting aliases."
                )
            sizes[id(node)] = total
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_yaml_text(text: str, source: str) -> Any:
    """Parse a config's text strictly (see the module docstring).

    Raises
    ------
    InputError
        For YAML syntax errors, unsafe tags, duplicate keys or an alias expansion beyond
        :data:`MAX_EXPANDED_NODES`, naming ``source`` (one line, no traceback).

    Examples
    --------
    >>> load_yaml_text("a: 1\\nb: [x, y]", "example.yaml")
    {'a': 1, 'b': ['x', 'y']}
    >>> load_yaml_text("a: 1\\na: 2", "example.yaml")
    Traceback (most recent call last):
    ...
    repalign._errors.InputError: example.yaml: line 2: duplicate key 'a' (first given on line 1); give each key once.
    """
    yaml = optional_import("yaml", extra="io", purpose="Reading study configs")
    loader = _loader_class(yaml, source)(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _expanded_size(root, yaml, source)
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({' '.join(str(exc).split())}).") from exc
    finally:
        loader.dispose()
