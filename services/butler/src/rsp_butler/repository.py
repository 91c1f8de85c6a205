"""The sample ``dp01`` Butler repository: a deterministic generator.

``make_repository`` creates a repository with the default dimension
universe, the LSSTCam-imSim instrument with its filters, detectors and a few
visits, the DC2 sky map (:mod:`rsp_butler.skymap`), the DP0.1-style dataset
types and their collections, and writes datasets with real synthetic
content (:mod:`rsp_butler.content`):

``deepCoadd`` (tract, patch, band)
    Coadded image of a patch, ``MaskedImageV2`` (``lsst-images``, FITS).
``objectTable`` (tract, patch)
    Objects of a patch with PSF fluxes per band, ``ArrowAstropy`` (Parquet):
    the TAP catalog's rows in the patch (:mod:`rsp_butler.catalog`), for the
    catalog scale and seed of :class:`SampleSpec`.
``calexp`` (visit, detector)
    Calibrated single-visit image, ``MaskedImageV2`` (FITS).
``src`` (visit, detector)
    Sources detected on a calexp, ``ArrowAstropy`` (Parquet).

Dataset ids are derived from data ID, dataset type and run, and every
random draw is seeded by its dataset, so two runs give the same datasets
with the same ids and the same bytes. The registry is SQLite in the
repository unless a database URL is given (PostgreSQL in production); files
go to the repository directory unless another datastore root is given
(object storage in production).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import astropy.time
import lsst.images as li
import numpy as np
from lsst.daf.butler import (
    Butler,
    Config,
    DatasetIdGenEnum,
    DatasetRef,
    DatasetType,
    Timespan,
)
from lsst.daf.butler._collection_type import CollectionType
from lsst.sphgeom import ConvexPolygon, LonLat, UnitVector3d
from rsp_platform.devtap import DEV_TAP_SCALE

from .catalog import DEFAULT_SEED, catalog_object_table
from .content import ImageSpec, masked_image, source_table
from .skymap import SkyMap, dc2_skymap, tan_wcs

__all__ = [
    "CHAINED_COLLECTION",
    "DATASET_TYPES",
    "INSTRUMENT",
    "RUN_COLLECTION",
    "RepositoryError",
    "SampleSpec",
    "Visit",
    "make_repository",
]

INSTRUMENT = "LSSTCam-imSim"
"""The DC2 simulated camera."""

RUN_COLLECTION = "2.2i/runs/DP0.1/sample"
"""RUN collection holding every dataset."""

CHAINED_COLLECTION = "2.2i/runs/DP0.1"
"""The collection users search (a chain to the run), as in DP0.1."""

DATASET_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "deepCoadd": (("tract", "patch", "band", "skymap"), "MaskedImageV2"),
    "objectTable": (("tract", "patch", "skymap"), "ArrowAstropy"),
    "calexp": (("instrument", "visit", "detector"), "MaskedImageV2"),
    "src": (("instrument", "visit", "detector"), "ArrowAstropy"),
}
"""Dataset type name -> (dimensions, storage class)."""

LOCAL_DATASTORE = "rsp_butler.datastore.LocalFileDatastore"
"""Datastore class of repositories whose files are on local disk."""


class RepositoryError(RuntimeError):
    """The repository cannot be made where or as asked."""


@dataclass(frozen=True)
class Visit:
    """One visit of the sample: where it points and in which band."""

    id: int
    band: str
    ra: float
    dec: float
    day_obs: int
    start: str

    @property
    def physical_filter(self) -> str:
        """The imSim filter name of the band."""
        return f"{self.band}_sim_1.4"


def _default_visits() -> tuple[Visit, ...]:
    return (
        Visit(1_000_001, "g", 61.9, -37.6, 20_230_101, "2023-01-02T03:00:00"),
        Visit(1_000_002, "r", 62.2, -37.4, 20_230_101, "2023-01-02T03:10:00"),
        Visit(1_000_003, "i", 62.1, -37.8, 20_230_102, "2023-01-03T03:20:00"),
    )


@dataclass(frozen=True)
class SampleSpec:
    """What the sample holds: how many patches, bands, visits and rows.

    Parameters
    ----------
    tract
        Tract whose patches get coadds and object tables.
    patches
        Those patches (ids).
    bands
        Bands of the coadds.
    catalog_scale
        Objects of the TAP catalog the object tables are cut from (the
        scale ``rsp-tap load`` was given).
    catalog_seed
        Seed of that TAP catalog.
    coadd
        Size, noise and PSF of coadd images.
    visits
        Visits with calexps and source catalogs.
    detectors
        Detectors of each visit that get a calexp.
    sources_per_detector
        Rows of each ``src``.
    calexp
        Size, noise and PSF of calexp images.
    detector_size
        Side of a detector on the sky, degrees.
    """

    tract: int = 7
    patches: tuple[int, ...] = (5, 6, 9, 10)
    bands: tuple[str, ...] = ("g", "r", "i")
    catalog_scale: int = DEV_TAP_SCALE
    catalog_seed: int = DEFAULT_SEED
    coadd: ImageSpec = field(default_factory=ImageSpec)
    visits: tuple[Visit, ...] = field(default_factory=_default_visits)
    detectors: tuple[int, ...] = (94, 95)
    sources_per_detector: int = 150
    calexp: ImageSpec = field(default_factory=lambda: ImageSpec(pixels=200, noise=60.0))
    detector_size: float = 0.2


def _box(ra: tuple[float, float], dec: tuple[float, float]) -> ConvexPolygon:
    corners = [(ra[0], dec[0]), (ra[1], dec[0]), (ra[1], dec[1]), (ra[0], dec[1])]
    return ConvexPolygon([UnitVector3d(LonLat.fromDegrees(r, d)) for r, d in corners])


def _detector_box(
    visit: Visit, detector: int, size: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """RA and Dec range of a detector: side by side along RA from the pointing."""
    column = detector % 2
    width = size / math.cos(math.radians(visit.dec))
    ra0 = visit.ra - width + column * width
    return (ra0, ra0 + width), (visit.dec - size / 2, visit.dec + size / 2)


def _butler_config(registry: str | None, datastore_root: str | None) -> Config:
    config = Config()
    if registry is not None:
        config["registry", "db"] = registry
    if datastore_root is None:
        config["datastore", "cls"] = LOCAL_DATASTORE
        # The same name as FileDatastore's, so a copy of the repository can be
        # served from object storage by the standard datastore.
        config["datastore", "name"] = "FileDatastore@<butlerRoot>"
    else:
        config["datastore", "root"] = datastore_root
        config["datastore", "name"] = "FileDatastore@<butlerRoot>"
    return config


def _register_dimensions(butler: Butler, skymap: SkyMap, spec: SampleSpec) -> None:
    registry = butler.registry
    registry.insertDimensionData(
        "instrument",
        {
            "name": INSTRUMENT,
            "visit_max": 10**8,
            "visit_system": 0,
            "exposure_max": 10**8,
            "detector_max": 189,
            "class_name": "lsst.obs.lsst.LsstCamImSim",
        },
    )
    registry.insertDimensionData(
        "physical_filter",
        *(
            {"instrument": INSTRUMENT, "name": f"{b}_sim_1.4", "band": b}
            for b in ("u", "g", "r", "i", "z", "y")
        ),
    )
    registry.insertDimensionData(
        "detector",
        *(
            {
                "instrument": INSTRUMENT,
                "id": d,
                "full_name": f"R22_S{d // 3 % 3}{d % 3}",
                "name_in_raft": f"S{d // 3 % 3}{d % 3}",
                "raft": "R22",
                "purpose": "SCIENCE",
            }
            for d in spec.detectors
        ),
    )
    registry.insertDimensionData(
        "skymap",
        {
            "name": skymap.name,
            "hash": skymap.hash,
            "tract_max": len(skymap.tracts),
            "patch_nx_max": skymap.patches,
            "patch_ny_max": skymap.patches,
        },
    )
    registry.insertDimensionData(
        "tract",
        *(
            {"skymap": skymap.name, "id": t.id, "region": t.region}
            for t in skymap.tracts
        ),
    )
    registry.insertDimensionData(
        "patch",
        *(
            {
                "skymap": skymap.name,
                "tract": p.tract,
                "id": p.id,
                "cell_x": p.x,
                "cell_y": p.y,
                "region": p.region,
            }
            for t in skymap.tracts
            for p in t.patches
        ),
    )
    _register_visits(butler, spec)


def _register_visits(butler: Butler, spec: SampleSpec) -> None:
    registry = butler.registry
    for day_obs in sorted({v.day_obs for v in spec.visits}):
        day = astropy.time.Time(
            f"{str(day_obs)[:4]}-{str(day_obs)[4:6]}-{str(day_obs)[6:]}T12:00:00",
            scale="tai",
        )
        registry.insertDimensionData(
            "day_obs",
            {
                "instrument": INSTRUMENT,
                "id": day_obs,
                "timespan": Timespan(day, day + astropy.time.TimeDelta(1, format="jd")),
            },
        )
    for seq, visit in enumerate(spec.visits):
        start = astropy.time.Time(visit.start, scale="tai")
        boxes = [_detector_box(visit, d, spec.detector_size) for d in spec.detectors]
        ras = [r for box in boxes for r in box[0]]
        decs = [d for box in boxes for d in box[1]]
        registry.insertDimensionData(
            "visit",
            {
                "instrument": INSTRUMENT,
                "id": visit.id,
                "day_obs": visit.day_obs,
                "physical_filter": visit.physical_filter,
                "name": f"visit_{visit.id}",
                "seq_num": seq,
                "exposure_time": 30.0,
                "target_name": "DC2",
                "observation_reason": "science",
                "science_program": "DC2",
                "azimuth": 0.0,
                "zenith_angle": 30.0,
                "region": _box((min(ras), max(ras)), (min(decs), max(decs))),
                "timespan": Timespan(
                    start, start + astropy.time.TimeDelta(30, format="sec")
                ),
            },
        )
        registry.insertDimensionData(
            "visit_detector_region",
            *(
                {
                    "instrument": INSTRUMENT,
                    "visit": visit.id,
                    "detector": d,
                    "region": _box(*box),
                }
                for d, box in zip(spec.detectors, boxes, strict=True)
            ),
        )


def _dataset_types(butler: Butler) -> dict[str, DatasetType]:
    types = {}
    for name, (dimensions, storage_class) in DATASET_TYPES.items():
        dataset_type = DatasetType(
            name, dimensions, storage_class, universe=butler.dimensions
        )
        butler.registry.registerDatasetType(dataset_type)
        types[name] = dataset_type
    return types


def _datasets(
    skymap: SkyMap, spec: SampleSpec
) -> Iterator[tuple[str, dict[str, object], object]]:
    """Every dataset of the sample: (dataset type, data ID, content)."""
    tract = skymap.tract(spec.tract)
    for patch in (p for p in tract.patches if p.id in spec.patches):
        data_id: dict[str, object] = {
            "skymap": skymap.name,
            "tract": tract.id,
            "patch": patch.id,
        }
        objects = catalog_object_table(
            skymap.name, patch, scale=spec.catalog_scale, seed=spec.catalog_seed
        )
        yield "objectTable", data_id, objects
        wcs = patch.wcs(spec.coadd.pixels)
        frame = li.TractFrame(
            skymap=skymap.name,
            tract=tract.id,
            bbox=li.Box.from_shape((spec.coadd.pixels, spec.coadd.pixels)),
        )
        for band in spec.bands:
            image = masked_image(
                ("deepCoadd", skymap.name, tract.id, patch.id, band),
                wcs,
                frame=frame,
                ra=np.asarray(objects["coord_ra"]),
                dec=np.asarray(objects["coord_dec"]),
                flux=np.clip(np.asarray(objects[f"{band}_psfFlux"]), 0, None),
                spec=spec.coadd,
            )
            yield "deepCoadd", {**data_id, "band": band}, image
    for visit in spec.visits:
        for detector in spec.detectors:
            ra, dec = _detector_box(visit, detector, spec.detector_size)
            data_id = {
                "instrument": INSTRUMENT,
                "visit": visit.id,
                "detector": detector,
            }
            sources = source_table(
                visit.id,
                detector,
                band=visit.band,
                ra=ra,
                dec=dec,
                count=spec.sources_per_detector,
            )
            yield "src", data_id, sources
            wcs = tan_wcs(
                ((ra[0] + ra[1]) / 2, (dec[0] + dec[1]) / 2),
                (ra[1] - ra[0], dec[1] - dec[0]),
                spec.calexp.pixels,
            )
            detector_frame = li.DetectorFrame(
                instrument=INSTRUMENT,
                visit=visit.id,
                detector=detector,
                bbox=li.Box.from_shape((spec.calexp.pixels, spec.calexp.pixels)),
            )
            image = masked_image(
                ("calexp", visit.id, detector),
                wcs,
                frame=detector_frame,
                ra=np.asarray(sources["coord_ra"]),
                dec=np.asarray(sources["coord_dec"]),
                flux=np.clip(np.asarray(sources["psfFlux"]), 0, None),
                spec=spec.calexp,
            )
            yield "calexp", data_id, image


def make_repository(
    root: Path,
    *,
    registry: str | None = None,
    datastore_root: str | None = None,
    spec: SampleSpec | None = None,
    skymap: SkyMap | None = None,
) -> int:
    """Create the sample repository at ``root``; the number of datasets written.

    Parameters
    ----------
    root
        Directory of the repository (``butler.yaml``); must not hold one yet.
    registry
        Database URL of the registry (``postgresql://...``); default: SQLite
        in ``root``.
    datastore_root
        Where files go (``s3://bucket/dp01``); default: ``root`` on local
        disk, with signed URLs for the Butler server.
    spec
        What the sample holds (default: :class:`SampleSpec`).
    skymap
        The sky map (default: the DC2 footprint).

    Raises
    ------
    RepositoryError
        If ``root`` already holds a repository.
    """
    spec = spec or SampleSpec()
    skymap = skymap or dc2_skymap()
    if (root / "butler.yaml").exists():
        raise RepositoryError(f"{root} already holds a Butler repository")
    root.mkdir(parents=True, exist_ok=True)
    Butler.makeRepo(str(root), config=_butler_config(registry, datastore_root))
    count = 0
    with Butler.from_config(str(root), writeable=True) as butler:
        _register_dimensions(butler, skymap, spec)
        types = _dataset_types(butler)
        butler.registry.registerCollection(RUN_COLLECTION, CollectionType.RUN)
        butler.registry.registerCollection(CHAINED_COLLECTION, CollectionType.CHAINED)
        butler.registry.setCollectionChain(CHAINED_COLLECTION, [RUN_COLLECTION])
        butler.registry.setCollectionDocumentation(
            CHAINED_COLLECTION,
            "Synthetic DP0.1-style sample over the DC2 footprint (deterministic).",
        )
        for name, data_id, content in _datasets(skymap, spec):
            coordinate = butler.registry.expandDataId(data_id)
            ref = DatasetRef(
                types[name],
                coordinate,
                run=RUN_COLLECTION,
                id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN,
            )
            butler.put(content, ref)
            count += 1
    return count
