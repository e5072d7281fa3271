"""Errors of the rules engine: one base class, messages a planner can act on."""

from __future__ import annotations


class RuleSetError(Exception):
    """A rule set that cannot be used; ``problems`` lists ``(yaml_path, message)`` pairs, all of them."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {path}: {msg}" if path else f"  - {msg}" for path, msg in problems)
        super().__init__(
            f"{source}: 规则集有 {len(problems)} 处问题 (rule set has {len(problems)} problem(s)):\n{lines}"
        )


class EvaluationError(Exception):
    """The evaluation cannot run with the inputs given (e.g. a rule set that needs a table not supplied)."""
