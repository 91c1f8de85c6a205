"""stilts taplint, the IVOA validator, against the running service: 0 errors.

taplint sends no user, so the live service assumes its configured
``default_user`` (allowed only in the local environment).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from .live import LiveTap

pytestmark = pytest.mark.slow

_TOTALS = re.compile(
    r"Totals: Errors: (\d+); Warnings: (\d+); Infos: \d+; Summaries: \d+; Failures: \d+"
)

NOT_APPLICABLE = {"F-LOC-NOTP"}
"""Failures that only say a data model is absent (ObsLocTAP's ivoa.obsplan)."""


@pytest.mark.skipif(shutil.which("stilts") is None, reason="stilts not installed")
def test_taplint_reports_no_errors(live_tap: LiveTap) -> None:
    result = subprocess.run(
        ["stilts", "taplint", f"tapurl={live_tap.url}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    totals = _TOTALS.search(output)
    assert totals is not None, output[-3000:]
    problems = [
        line
        for line in output.splitlines()
        if re.match(r"^[EWF]-[A-Z]{3}-[A-Z0-9]{4}", line)
        and line[:10] not in NOT_APPLICABLE
    ]
    assert problems == [], "\n".join(problems)
    assert (int(totals[1]), int(totals[2])) == (0, 0), output[-3000:]
