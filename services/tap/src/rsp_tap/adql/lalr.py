"""A lean driver for the LALR(1) tables lark builds from ``adql.lark``.

lark's own driver is general (interactive parsing, terminal callbacks,
puppets); feeding it a token costs several dictionary lookups through
objects with Python-level ``__eq__``. This one walks the same tables,
converted once to plain strings, and calls the same rule callbacks, so the
grammar and the node building stay lark's; only the loop is ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lark import Lark, Token
from lark.parsers.lalr_analysis import Shift

__all__ = ["LalrDriver", "UnexpectedInput"]

type _Reduce = tuple[int, str, Callable[[list[Any]], Any] | None]


def _passes_through(rule: Any) -> bool:
    """A ``?rule`` alternative of one non-terminal: lark hands the child on."""
    return (
        len(rule.expansion) == 1
        and not rule.expansion[0].is_term
        and rule.alias is None
        and bool(rule.options.expand1)
    )


class UnexpectedInput(Exception):  # noqa: N818 (mirrors lark's name)
    """A token the grammar does not allow where it stands."""

    def __init__(self, token: Token, expected: set[str]) -> None:
        self.token = token
        self.expected = expected
        super().__init__(f"unexpected {token.type}")


class LalrDriver:
    """Parses token streams with a compiled lark LALR parser's tables."""

    def __init__(self, lark: Lark, start: str = "start") -> None:
        parser = lark.parser.parser.parser  # frontend -> LALR_Parser -> _Parser
        table = parser.parse_table
        callbacks = parser.callbacks
        self._start = table.start_states[start]
        self._end = table.end_states[start]
        self._states: dict[int, dict[str, tuple[bool, Any]]] = {}
        for state, actions in table.states.items():
            row: dict[str, tuple[bool, Any]] = {}
            for symbol, (action, argument) in actions.items():
                if action is Shift:
                    row[str(symbol)] = (True, argument)
                else:
                    size = len(argument.expansion)
                    callback = callbacks[argument]
                    if _passes_through(argument):
                        callback = None  # ?rule with one child: the child itself
                    reduce: _Reduce = (size, str(argument.origin.name), callback)
                    row[str(symbol)] = (False, reduce)
            self._states[state] = row

    def parse(self, tokens: Iterable[Token]) -> Any:
        """Parse a whole token stream; raise :class:`UnexpectedInput` on error."""
        states = self._states
        state_stack = [self._start]
        values: list[Any] = []
        last: Token | None = None
        for token in tokens:
            last = token
            self._feed(token, state_stack, values, states)
        end = (
            Token("$END", "", 0, 1, 1)
            if last is None
            else Token.new_borrow_pos("$END", "", last)
        )
        return self._feed(end, state_stack, values, states)

    def _feed(
        self,
        token: Token,
        state_stack: list[int],
        values: list[Any],
        states: dict[int, dict[str, tuple[bool, Any]]],
    ) -> Any:
        kind = token.type
        while True:
            row = states[state_stack[-1]]
            entry = row.get(kind)
            if entry is None:
                expected = {s for s in row if s.isupper() or s == "$END"}
                raise UnexpectedInput(token, expected)
            shift, argument = entry
            if shift:
                state_stack.append(argument)
                values.append(token)
                return None
            size, origin, callback = argument
            if callback is None:
                state_stack.pop()
                state_stack.append(states[state_stack[-1]][origin][1])
            else:
                if size:
                    children = values[-size:]
                    del state_stack[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(callback(children))
                state_stack.append(states[state_stack[-1]][origin][1])
            if kind == "$END" and state_stack[-1] == self._end:
                return values[-1]
