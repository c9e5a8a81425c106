"""InputError: bad input data or conflicting options, reported as ``file:line: field 'x': problem``."""

from __future__ import annotations


class InputError(ValueError):
    """A precise, user-facing complaint about input data or options, raised before any load.

    ``str(e)`` reads like ``rankings.jsonl:3: field 'passages': must be a non-empty list of strings``;
    parts that are None are left out.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        super().__init__(self._render())

    def _render(self) -> str:
        parts: list[str] = []
        if self.path is not None and self.line is not None:
            parts.append(f"{self.path}:{self.line}")
        elif self.path is not None:
            parts.append(self.path)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.problem)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self):  # keyword-only arguments: pickle (e.g. across processes) needs help
        return (_rebuild, (self.problem, self.path, self.line, self.field))


def _rebuild(problem: str, path: str | None, line: int | None, field: str | None) -> InputError:
    return InputError(problem, path=path, line=line, field=field)
