"""The grammar and the tokenizer agree, and the grammar is conflict-free LALR(1)."""

from __future__ import annotations

import logging
from pathlib import Path

import lark
import pytest
from rsp_tap.adql import warm_up
from rsp_tap.adql.lexer import TOKEN_TYPES, tokenize
from rsp_tap.adql.parser import _Builder, _parser
from rsp_tap.data.felis import load_catalog_schema

GRAMMAR = Path(__file__).parents[2] / "src" / "rsp_tap" / "adql" / "adql.lark"


def test_grammar_has_no_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    """lark resolves shift/reduce conflicts silently; there must be none."""
    logger = logging.getLogger("lark")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            lark.Lark(GRAMMAR.read_text(), parser="lalr", debug=True)
    finally:
        logger.setLevel(level)
    assert not [r for r in caplog.records if "conflict" in r.getMessage().lower()]


def test_tokenizer_produces_the_grammar_terminals() -> None:
    parser = lark.Lark(GRAMMAR.read_text(), parser="lalr")
    declared = {t.name for t in parser.terminals if not t.name.startswith("__")}
    declared -= {"COMMENT"}
    assert declared == set(TOKEN_TYPES)


def test_every_rule_has_a_builder() -> None:
    """Each rule or alias that makes a node has its method on the builder."""
    parser = lark.Lark(GRAMMAR.read_text(), parser="lalr")
    needed = set()
    for rule in parser.rules:
        name = str(rule.alias or rule.origin.name)
        if name.startswith("_") or (rule.alias is None and rule.options.expand1):
            continue
        needed.add(name)
    assert sorted(n for n in needed if not hasattr(_Builder, n)) == []


def test_no_schema_name_is_a_keyword() -> None:
    """Every table and column of the catalogs can be written without quotes."""
    keywords = {t for t in TOKEN_TYPES if t.lstrip("_").isalpha()}
    words = {k.lstrip("_") for k in keywords}
    for table in load_catalog_schema().tables:
        assert table.name.upper() not in words
        for column in table.columns:
            assert column.name.upper() not in words, (table.name, column.name)


def test_tokens_carry_positions() -> None:
    tokens = list(tokenize('SELECT ra\n  -- note\n  FROM "object"'))
    assert [(t.type, str(t), t.line, t.column) for t in tokens] == [
        ("_SELECT", "SELECT", 1, 1),
        ("NAME", "ra", 1, 8),
        ("_FROM", "FROM", 3, 3),
        ("DELIMITED", '"object"', 3, 8),
    ]


def test_warm_up_compiles_the_parser_once() -> None:
    warm_up()
    assert _parser.cache_info().currsize == 1
    assert _parser() is _parser()
