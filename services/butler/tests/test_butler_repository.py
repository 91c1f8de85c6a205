"""The sample repository: contents, determinism and the registry on PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import astropy.table
import lsst.images as li
import numpy as np
import pytest
import sqlalchemy
import yaml
from butler_sample import SMALL, small_repository
from click.testing import CliRunner
from lsst.daf.butler import Butler
from lsst.sphgeom import LonLat, UnitVector3d
from rsp_butler.cli import main as cli
from rsp_butler.repository import (
    CHAINED_COLLECTION,
    INSTRUMENT,
    RUN_COLLECTION,
    RepositoryError,
    make_repository,
)
from rsp_butler.skymap import dc2_skymap

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_repository(tmp_path_factory.mktemp("butler") / "dp01")


@pytest.fixture
def butler(repo: Path) -> Iterator[Butler]:
    with Butler.from_config(str(repo), collections=CHAINED_COLLECTION) as b:
        yield b


def test_skymap_tiles_the_dc2_footprint() -> None:
    skymap = dc2_skymap()
    assert len(skymap.tracts) == 20
    assert {t.ra for t in skymap.tracts} >= {(50.0, 55.0), (70.0, 75.0)}
    assert min(t.dec[0] for t in skymap.tracts) == -45.0
    assert max(t.dec[1] for t in skymap.tracts) == -25.0
    tract = skymap.tract(7)
    assert tract.region.contains(UnitVector3d(LonLat.fromDegrees(62.5, -37.5)))
    assert [p.id for p in tract.patches] == list(range(16))
    assert skymap.tract_at(62.5, -37.5) == tract
    assert skymap.tract_at(10.0, 0.0) is None
    with pytest.raises(KeyError):
        skymap.tract(99)


def test_dimensions_and_collections(butler: Butler) -> None:
    assert butler.registry.getCollectionChain(CHAINED_COLLECTION) == (RUN_COLLECTION,)
    records = butler.query_dimension_records("tract", skymap="DC2")
    assert len(records) == 20
    patches = butler.query_dimension_records("patch", skymap="DC2", tract=7)
    assert len(patches) == 16
    (instrument,) = butler.query_dimension_records("instrument")
    assert instrument.name == INSTRUMENT
    filters = {r.name for r in butler.query_dimension_records("physical_filter")}
    assert "r_sim_1.4" in filters


def test_datasets_of_every_type(butler: Butler) -> None:
    counts = {
        name: len(butler.query_datasets(name, collections=CHAINED_COLLECTION))
        for name in ("deepCoadd", "objectTable", "calexp", "src")
    }
    assert counts == {"deepCoadd": 4, "objectTable": 2, "calexp": 1, "src": 1}


def test_coadd_shows_the_objects_of_its_table(butler: Butler) -> None:
    image = butler.get("deepCoadd", skymap="DC2", tract=7, patch=5, band="r")
    assert isinstance(image, li.MaskedImage)
    assert image.image.array.shape == (64, 64)
    assert image.sky_projection is not None
    objects = butler.get("objectTable", skymap="DC2", tract=7, patch=5)
    assert isinstance(objects, astropy.table.Table)
    assert len(objects) > 20  # the TAP catalog's objects in the patch
    assert len(set(objects["objectId"])) == len(objects)
    assert str(objects["r_psfFlux"].unit) == "nJy"
    patch = dc2_skymap().tract(7).patches[5]
    assert np.all(
        (objects["coord_ra"] >= patch.ra[0]) & (objects["coord_ra"] < patch.ra[1])
    )
    assert np.all(
        (objects["coord_dec"] >= patch.dec[0]) & (objects["coord_dec"] < patch.dec[1])
    )
    # The brightest object is a bright spot in the image where the WCS puts it.
    brightest = objects[np.argmax(objects["r_psfFlux"])]
    x, y = patch.wcs(64).world_to_pixel_values(
        brightest["coord_ra"], brightest["coord_dec"]
    )
    ix, iy = round(float(x)), round(float(y))
    assert image.image.array[iy, ix] > 5 * SMALL.coadd.noise
    assert image.mask.get("DETECTED")[iy, ix]


def test_calexp_and_sources(butler: Butler) -> None:
    data_id = {"instrument": INSTRUMENT, "visit": 1_000_002, "detector": 94}
    calexp = butler.get("calexp", data_id)
    assert calexp.image.array.shape == (48, 48)
    sources = butler.get("src", data_id)
    assert len(sources) == SMALL.sources_per_detector
    assert set(sources["band"]) == {"r"}


def _content_digest(root: Path) -> dict[str, str]:
    digests = {}
    with Butler.from_config(str(root), collections=CHAINED_COLLECTION) as butler:
        for name in ("deepCoadd", "objectTable", "calexp", "src"):
            for ref in butler.query_datasets(name, collections=CHAINED_COLLECTION):
                content = butler.get(ref)
                if isinstance(content, astropy.table.Table):
                    data = b"".join(
                        np.asarray(content[c]).tobytes() for c in content.colnames
                    )
                else:
                    data = (
                        content.image.array.tobytes() + content.variance.array.tobytes()
                    )
                    data += content.mask.array.tobytes()
                digests[str(ref.id)] = hashlib.sha256(data).hexdigest()
    return digests


def test_generator_is_deterministic(repo: Path, tmp_path: Path) -> None:
    again = tmp_path / "dp01"
    make_repository(again, spec=SMALL)
    first, second = _content_digest(repo), _content_digest(again)
    assert first == second
    assert len(first) == 8
    # Parquet files are identical byte for byte (FITS files differ only in
    # their DATE cards, the time each HDU was written).
    parquet = sorted(p.relative_to(repo) for p in repo.rglob("*.parq"))
    assert parquet
    for path in parquet:
        assert (repo / path).read_bytes() == (again / path).read_bytes()


def test_existing_repository_is_refused(repo: Path) -> None:
    with pytest.raises(RepositoryError, match="already holds"):
        make_repository(repo, spec=SMALL)


def test_local_repository_names_the_signing_datastore(repo: Path) -> None:
    config = yaml.safe_load((repo / "butler.yaml").read_text())
    assert config["datastore"]["cls"] == "rsp_butler.datastore.LocalFileDatastore"
    assert config["datastore"]["name"] == "FileDatastore@<butlerRoot>"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"butler_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(
        f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError:
        admin.dispose()
        pytest.skip("PostgreSQL is not running at 127.0.0.1:5432")
    url = f"{POSTGRES}/{name}"
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
    engine.dispose()
    yield url.replace("+psycopg", "")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_registry_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    small = dataclasses.replace(SMALL, patches=(5,), bands=("r",))
    count = make_repository(tmp_path / "dp01", registry=postgres_url, spec=small)
    assert count == 4
    config = yaml.safe_load((tmp_path / "dp01" / "butler.yaml").read_text())
    assert config["registry"]["db"] == postgres_url
    with Butler.from_config(
        str(tmp_path / "dp01"), collections=CHAINED_COLLECTION
    ) as b:
        table = b.get("objectTable", skymap="DC2", tract=7, patch=5)
        assert len(table) > 20


def test_cli_makes_a_repository_and_an_index(tmp_path: Path, repo: Path) -> None:
    runner = CliRunner()
    exists = runner.invoke(cli, ["make-repo", str(repo), "--exist-ok"])
    assert exists.exit_code == 0, exists.output
    assert "repository exists" in exists.output
    refused = runner.invoke(cli, ["make-repo", str(repo)])
    assert refused.exit_code == 1
    assert "already holds" in refused.output
    index = runner.invoke(
        cli,
        [
            "write-index",
            str(tmp_path / "configs"),
            "--base-url",
            "http://localhost:8000",
        ],
    )
    assert index.exit_code == 0, index.output
    assert yaml.safe_load((tmp_path / "configs" / "repositories.yaml").read_text()) == {
        "dp01": "http://localhost:8000/api/butler/repo/dp01/butler.yaml"
    }
