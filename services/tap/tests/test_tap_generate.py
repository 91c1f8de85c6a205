"""The synthetic catalog generator: deterministic, complete, plausible."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from rsp_tap.data.generate import TABLE_CODES, CatalogGenerator, Chunk, encode_chunk
from rsp_tap.data.pgcopy import ColumnData
from rsp_tap.data.sky import (
    AB_ZERO_POINT_NJY,
    FOOTPRINT,
    MAX_CELL_OBJECTS,
    cell_side,
    footprint_cells,
)
from rsp_tap.data.truth import healpix_ring
from rsp_tap.models.schema import VOTableDatatype

SCALE = 3000


@pytest.fixture(scope="module")
def generator() -> CatalogGenerator:
    return CatalogGenerator(SCALE)


@pytest.fixture(scope="module")
def tables(generator: CatalogGenerator) -> dict[str, list[Chunk]]:
    return {name: list(generator.chunks(name)) for name in TABLE_CODES}


def _values(chunks: list[Chunk], name: str) -> npt.NDArray[Any]:
    return np.concatenate([c.column(name).values for c in chunks])


def _data(chunks: list[Chunk], name: str) -> ColumnData:
    nulls = [c.column(name).nulls for c in chunks]
    values = _values(chunks, name)
    if all(n is None for n in nulls):
        return ColumnData(values)
    return ColumnData(
        values,
        np.concatenate(
            [
                n if n is not None else np.zeros(c.rows, np.bool_)
                for n, c in zip(nulls, chunks, strict=True)
            ]
        ),
    )


def test_cells_share_the_scale_by_area() -> None:
    for scale in (0, 1, 7, 5000, 123_457):
        cells = footprint_cells(scale)
        assert sum(c.count for c in cells) == scale
        assert [c.first for c in cells] == list(
            np.cumsum([0] + [c.count for c in cells[:-1]])
        )
    cells = footprint_cells(1_000_000)
    densities = [c.count / c.box.area for c in cells]
    assert max(densities) / min(densities) < 1.01
    assert cell_side(10_000_000) == 1.0
    assert all(c.count <= MAX_CELL_OBJECTS * 1.2 for c in footprint_cells(10_000_000))
    with pytest.raises(ValueError, match="negative"):
        footprint_cells(-1)


def test_same_scale_and_seed_same_rows() -> None:
    for table in TABLE_CODES:
        first = encode_chunk(2000, 7, table, 3)
        assert first == encode_chunk(2000, 7, table, 3)
        assert first != encode_chunk(2000, 8, table, 3)
    one = CatalogGenerator(2000, seed=7)
    other = CatalogGenerator(2000, seed=7)
    cell = one.cells[5]
    a, b = one.chunk("object", cell), other.chunk("object", cell)
    for x, y in zip(a.data, b.data, strict=True):
        assert np.array_equal(x.values, y.values)


def test_every_column_filled_with_its_type(tables: dict[str, list[Chunk]]) -> None:
    for name, chunks in tables.items():
        table = chunks[0].table
        rows = sum(c.rows for c in chunks)
        expected = SCALE if name != "truth_match" else rows
        assert rows == expected
        for column in table.columns:
            data = _data(chunks, column.name)
            assert len(data.values) == rows
            values = data.values
            kind = values.dtype.kind
            match column.datatype:
                case VOTableDatatype.boolean:
                    assert kind == "b", column.name
                case VOTableDatatype.char:
                    assert kind == "S", column.name
                    size = int((column.arraysize or "0").rstrip("*") or 0)
                    assert np.char.str_len(values).max() <= size, column.name
                case VOTableDatatype.long | VOTableDatatype.int | VOTableDatatype.short:
                    assert kind in "iu", column.name
                    if column.datatype is VOTableDatatype.int:
                        assert np.abs(values).max() < 2**31, column.name
                case VOTableDatatype.float | VOTableDatatype.double:
                    assert kind in "fb", column.name
                    valid = values.astype(np.float64)
                    if data.nulls is not None:
                        valid = valid[~data.nulls]
                    assert np.isfinite(valid).all(), column.name
                case _:
                    pytest.fail(f"unexpected type of {column.name}")
            if data.nulls is not None:
                # Only magnitudes of objects measured with no positive flux.
                assert column.unit == "mag", column.name
                assert data.nulls.mean() < 0.2, column.name


def test_footprint_uniform_on_the_sphere(tables: dict[str, list[Chunk]]) -> None:
    ra = _values(tables["object"], "ra").astype(np.float64)
    dec = _values(tables["object"], "dec").astype(np.float64)
    assert ra.min() >= FOOTPRINT.ra_min
    assert ra.max() <= FOOTPRINT.ra_max
    assert dec.min() >= FOOTPRINT.dec_min
    assert dec.max() <= FOOTPRINT.dec_max
    # Equal area means the share north of -35 deg follows sin(dec), not dec.
    north = math.sin(math.radians(-25)) - math.sin(math.radians(-35))
    south = math.sin(math.radians(-35)) - math.sin(math.radians(-45))
    expected = north / (north + south)
    assert abs((dec > -35).mean() - expected) < 0.02


def test_ids_and_positions_shared_by_object_keyed_tables(
    tables: dict[str, list[Chunk]],
) -> None:
    ids = _values(tables["object"], "objectId")
    assert len(np.unique(ids)) == len(ids)
    assert (ids > 0).all()
    for name in ("position", "reference", "forced_photometry"):
        assert np.array_equal(_values(tables[name], "objectId"), ids)
        assert np.array_equal(
            _values(tables[name], "coord_ra"), _values(tables["object"], "ra")
        )
    parents = _values(tables["object"], "parentObjectId")
    assert 0.05 < (parents != 0).mean() < 0.3
    assert np.isin(parents[parents != 0], ids).all()
    patch = _values(tables["object"], "patch")
    assert all(len(p) == 3 and p[1:2] == b"," for p in patch)


def test_magnitudes_look_like_a_deep_survey(tables: dict[str, list[Chunk]]) -> None:
    chunks = tables["object"]
    mag = _data(chunks, "mag_r")
    err = _values(chunks, "magerr_r")
    flux = _values(chunks, "cModelFlux_r").astype(np.float64)
    valid = ~mag.nulls if mag.nulls is not None else np.ones(len(flux), np.bool_)
    m = mag.values.astype(np.float64)[valid]
    # Number counts rise towards the faint end, up to the detection limit.
    assert ((m > 24) & (m < 25)).sum() > 2 * ((m > 22) & (m < 23)).sum()
    assert 24.5 < np.median(m) < 27
    assert m.min() > 14
    # Errors grow with magnitude.
    bright = np.median(err[valid][m < 22])
    faint = np.median(err[valid][m > 25.5])
    assert faint > 5 * bright
    # Fluxes (nJy) agree with magnitudes.
    assert np.allclose(m, AB_ZERO_POINT_NJY - 2.5 * np.log10(flux[valid]))
    assert np.array_equal(_values(chunks, "mag_r_cModel"), mag.values)
    # Nanomaggies are 3631 nJy.
    ps = _values(chunks, "psFlux_r").astype(np.float64)
    bright = flux > 10_000
    assert 0.5 < np.median(ps[bright] * 3631 / flux[bright]) < 1.05
    snr = _values(chunks, "snr_r_cModel")
    assert np.allclose(snr, flux / _values(chunks, "cModelFluxErr_r"))


def test_flags_mostly_false(tables: dict[str, list[Chunk]]) -> None:
    for chunks in tables.values():
        for column in chunks[0].table.columns:
            if "flag" in column.name.lower() and "region_used" not in column.name:
                assert _values(chunks, column.name).mean() < 0.1, column.name
    good = _values(tables["object"], "good")
    assert good.mean() > 0.85
    clean = _values(tables["object"], "clean")
    assert not (clean & ~good).any()


def test_truth_match_points_at_objects(tables: dict[str, list[Chunk]]) -> None:
    truth = tables["truth_match"]
    objects = tables["object"]
    ids = _values(objects, "objectId")
    match = _values(truth, "match_objectId")
    matched = match != -1
    assert np.isin(match[matched], ids).all()
    assert len(np.unique(match[matched])) == matched.sum()
    assert 0.9 < matched.sum() / len(ids) <= 1.0
    good = _values(truth, "is_good_match")
    assert not (good & ~matched).any()
    assert 0.8 < good[matched].mean() < 1.0
    separation = _values(truth, "match_sep")
    assert (separation[~matched] == -1).all()
    assert (separation[good] < 1.0).all()
    # Truth positions are near their objects, as the separation says.
    order = np.argsort(ids)
    index = order[np.searchsorted(ids, match[matched], sorter=order)]
    ra = _values(objects, "ra")[index]
    dec = _values(objects, "dec")[index]
    t_ra = _values(truth, "ra")[matched]
    t_dec = _values(truth, "dec")[matched]
    distance = 3600 * np.hypot((t_ra - ra) * np.cos(np.radians(dec)), t_dec - dec)
    assert np.allclose(distance, separation[matched], atol=1e-3)
    ids_truth = _values(truth, "id")
    assert len(np.unique(ids_truth)) == len(ids_truth)
    kinds = _values(truth, "truth_type")
    assert set(np.unique(kinds)) <= {1, 2, 3}
    stars = kinds == 2
    assert (_values(truth, "is_pointsource")[stars] == 1).all()
    assert (_values(truth, "cosmodc2_id")[stars] == -1).all()
    dereddened = _values(truth, "flux_g_noMW")
    assert (dereddened > _values(truth, "flux_g")).all()


def test_healpix_ring() -> None:
    # Pixel centres of nside=1: 0-3 north cap, 4-7 equator, 8-11 south cap.
    ra = np.array([45.0, 0.0, 45.0, 135.0])
    dec = np.array([41.8103, 0.0, -41.8103, -41.8103])
    assert healpix_ring(ra, dec, 1).tolist() == [0, 4, 8, 9]
    many = healpix_ring(np.linspace(0, 359, 50), np.linspace(-89, 89, 50), 32)
    assert ((many >= 0) & (many < 12 * 32 * 32)).all()
