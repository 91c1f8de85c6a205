"""Tokenizer for ADQL: one compiled regular expression, keywords by lookup.

It yields the terminals ``adql.lark`` declares (the grammar stays the
reference for what each token is); it exists because it is several times
faster than lark's general lexers, which matters for a query per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark import Token
from lark.lexer import Lexer, LexerState

from .errors import AdqlSyntaxError

__all__ = ["TOKEN_TYPES", "AdqlLexer"]

_MASTER = re.compile(
    r"""
    (?P<HEX>0[xX][0-9a-fA-F]+)
  | (?P<DECIMAL>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<UNSIGNED>\d+)
  | (?P<STRING>'(?:[^']|'')*')
  | (?P<DELIMITED>"(?:[^"]|"")+")
  | (?P<NAME>[a-zA-Z][a-zA-Z0-9_]*)
  | (?P<SPACE>(?:[ \t\r\n\f]+|--[^\n]*)+)
  | (?P<CONCAT>\|\|)
  | (?P<COMP_OP><>|<=|>=|!=|=|<|>)
  | (?P<BIT_OP>[&|^])
  | (?P<ADD_OP>[-+])
  | (?P<STAR>\*)
  | (?P<SLASH>/)
  | (?P<TILDE>~)
  | (?P<LPAR>\()
  | (?P<RPAR>\))
  | (?P<COMMA>,)
  | (?P<DOT>\.)
  | (?P<_SEMI>;)
    """,
    re.VERBOSE,
)

_KEYWORDS = {
    word: f"_{word}"
    for word in [
        "SELECT",
        "FROM",
        "WHERE",
        "GROUP",
        "BY",
        "HAVING",
        "ORDER",
        "OFFSET",
        "TOP",
        "AS",
        "WITH",
        "JOIN",
        "NATURAL",
        "CROSS",
        "OUTER",
        "ON",
        "USING",
        "AND",
        "OR",
        "BETWEEN",
        "IN",
        "IS",
        "NULL",
        "EXISTS",
        "CAST",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
    ]
}
_KEYWORDS.update(
    (word, word)
    for word in [
        "DISTINCT",
        "ALL",
        "UNION",
        "EXCEPT",
        "INTERSECT",
        "INNER",
        "LEFT",
        "RIGHT",
        "FULL",
        "ASC",
        "DESC",
        "NOT",
        "LIKE",
        "ILIKE",
        "TRUE",
        "FALSE",
    ]
)

TOKEN_TYPES = frozenset(
    {name for name in _MASTER.groupindex if name != "SPACE"} | set(_KEYWORDS.values())
)
"""Every terminal the tokenizer can produce (the grammar must declare them)."""


class AdqlLexer(Lexer):
    """Custom lexer for lark's LALR parser."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, lexer_state: LexerState, _parser_state: Any) -> Iterator[Token]:
        """Yield the tokens of the text, skipping blanks and ``--`` comments."""
        text: str = lexer_state.text.text
        return tokenize(text)


def tokenize(text: str) -> Iterator[Token]:
    """Tokens of an ADQL text, with 1-based line and column."""
    line = 1
    line_start = 0
    position = 0
    end = len(text)
    match = _MASTER.match
    keywords = _KEYWORDS
    while position < end:
        found = match(text, position)
        if found is None:
            column = position - line_start + 1
            raise AdqlSyntaxError(
                _bad_character(text, position), line=line, column=column
            )
        kind = found.lastgroup
        value = found.group()
        if kind == "SPACE":
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = position + value.rindex("\n") + 1
        else:
            if kind == "NAME":
                kind = keywords.get(value.upper(), "NAME")
            assert kind is not None
            column = position - line_start + 1
            yield Token(kind, value, position, line, column)
            if kind in {"STRING", "DELIMITED"} and "\n" in value:
                line += value.count("\n")
                line_start = position + value.rindex("\n") + 1
        position = found.end()


def _bad_character(text: str, position: int) -> str:
    char = text[position]
    if char == "'":
        return "A string is not closed: add the final '"
    if char == '"':
        return 'A quoted name is empty or not closed: add the final "'
    return f"Unexpected character {char!r}"
