"""The sample's object tables are the TAP catalog's rows, as loaded into PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import asyncpg
import numpy as np
import pytest
from butler_sample import SMALL, small_repository
from lsst.daf.butler import Butler
from rsp_butler.catalog import NJY_PER_NANOMAGGY, catalog_object_table
from rsp_butler.repository import CHAINED_COLLECTION
from rsp_butler.skymap import dc2_skymap
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.data.load import load_catalogs
from rsp_tap.data.setup import init_database

SERVER = os.environ.get(
    "RSP_BUTLER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432"
)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _load(name: str, role: str) -> None:
    await _admin(f'CREATE DATABASE "{name}"')
    owner = await asyncpg.connect(f"{SERVER}/{name}")
    try:
        await init_database(owner, load_catalog_schema(), reader_role=role)
    finally:
        await owner.close()
    await load_catalogs(
        f"{SERVER}/{name}",
        scale=SMALL.catalog_scale,
        seed=SMALL.catalog_seed,
        tables=["object"],
        cluster=False,
    )


async def _drop(name: str, role: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="module")
def tap_catalog() -> Iterator[str]:
    """A TAP catalog database with ``object`` loaded as ``rsp-tap load`` does."""
    run = uuid.uuid4().hex[:12]
    name, role = f"butler_tap_{run}", f"butler_tap_reader_{run}"
    try:
        asyncio.run(_load(name, role))
        yield f"{SERVER}/{name}"
    finally:
        asyncio.run(_drop(name, role))


async def _tap_rows(dsn: str, object_ids: list[int]) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            'SELECT "objectId", ra, dec, "psFlux_r", "psFluxErr_g"'
            ' FROM dp01_dc2_catalogs.object WHERE "objectId" = ANY($1::bigint[])'
            ' ORDER BY "objectId"',
            object_ids,
        )
        return rows
    finally:
        await connection.close()


async def _count_in_box(
    dsn: str, ra: tuple[float, float], dec: tuple[float, float]
) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM dp01_dc2_catalogs.object"
            " WHERE ra >= $1 AND ra < $2 AND dec >= $3 AND dec < $4",
            *ra,
            *dec,
        )
        return count
    finally:
        await connection.close()


def test_object_table_rows_are_the_tap_rows(
    tap_catalog: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = small_repository(tmp_path_factory.mktemp("butler") / "dp01")
    with Butler.from_config(str(root), collections=CHAINED_COLLECTION) as butler:
        objects = butler.get("objectTable", skymap="DC2", tract=7, patch=5)
    patch = dc2_skymap().tract(7).patches[5]
    # Every TAP object in the patch, no more.
    assert len(objects) == asyncio.run(_count_in_box(tap_catalog, patch.ra, patch.dec))
    some = sorted(int(i) for i in objects["objectId"][:: max(1, len(objects) // 5)])
    rows = asyncio.run(_tap_rows(tap_catalog, some))
    assert [r["objectId"] for r in rows] == some
    by_id = {int(i): k for k, i in enumerate(objects["objectId"])}
    for row in rows:
        mine = objects[by_id[row["objectId"]]]
        assert mine["coord_ra"] == pytest.approx(row["ra"], abs=1e-12)
        assert mine["coord_dec"] == pytest.approx(row["dec"], abs=1e-12)
        assert mine["r_psfFlux"] == pytest.approx(row["psFlux_r"] * NJY_PER_NANOMAGGY)
        assert mine["g_psfFluxErr"] == pytest.approx(
            row["psFluxErr_g"] * NJY_PER_NANOMAGGY
        )


def test_patches_do_not_share_objects() -> None:
    tract = dc2_skymap().tract(7)
    ids = [
        set(np.asarray(catalog_object_table("DC2", p, scale=20_000)["objectId"]))
        for p in tract.patches[:2]
    ]
    assert ids[0]
    assert ids[1]
    assert not ids[0] & ids[1]
