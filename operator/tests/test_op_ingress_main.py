"""The kopf entry point: kopf's settings and what handlers find in the memo."""

from __future__ import annotations

import logging

import kopf
import pytest
from optest.ingress_harness import operator_settings
from rsp_operator import main
from rsp_operator.ingress.factory import IngressFactory


def test_kopf_keeps_its_state_in_annotations() -> None:
    settings = kopf.OperatorSettings()
    main.configure_kopf(settings)
    progress = settings.persistence.progress_storage
    diffbase = settings.persistence.diffbase_storage
    assert isinstance(progress, kopf.AnnotationsProgressStorage)
    assert isinstance(diffbase, kopf.AnnotationsDiffBaseStorage)
    assert progress.prefix == "science-platform.dev"
    assert settings.persistence.finalizer == "science-platform.dev/operator"
    assert settings.posting.level == logging.WARNING
    assert settings.scanning.disabled


async def test_startup_fills_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[bool] = []

    async def load() -> None:
        loaded.append(True)

    monkeypatch.setattr(main, "load_kubernetes_config", load)
    memo = kopf.Memo(settings=operator_settings())
    await main.start_operator(kopf.OperatorSettings(), memo)
    try:
        assert loaded == [True]
        assert isinstance(memo["ingress_factory"], IngressFactory)
        assert memo["ingress_resync"].interval == 300
        assert memo["settings"].host == "data-dev.lsst.cloud"
    finally:
        await main.stop_operator(memo)
