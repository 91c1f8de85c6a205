"""Rows of ``truth_match``: the simulated truth, matched to the objects.

Per cell, most objects get a truth entry a little away from them
(``match_objectId`` is their ``objectId``, ``is_good_match`` mostly true);
a few objects (spurious detections) get none; and fainter truth entries
that no object matched are added (``match_objectId`` and ``match_sep`` -1),
a few of them supernovae in a host galaxy. Truth fluxes are the true fluxes
of the shared :class:`Sky` (reddened, and without the Milky Way in
``flux_*_noMW``), so a join of ``truth_match`` and ``object`` compares a
measurement with what was simulated.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..models.schema import CatalogColumn
from .pgcopy import ColumnData
from .sky import (
    BANDS,
    EXTINCTION_COEFFICIENTS,
    Sky,
    colours,
    flux_to_mag,
    mag_to_flux,
    sky_map_position,
    spatial_order,
    uniform_positions,
)

__all__ = ["UNMATCHED_FRACTION", "healpix_ring", "truth_rows"]

UNMATCHED_FRACTION = 0.3
"""Truth entries no object matched, per object."""

_COSMODC2_NSIDE = 32


def healpix_ring(
    ra: npt.NDArray[np.float64], dec: npt.NDArray[np.float64], nside: int
) -> npt.NDArray[np.int64]:
    """HEALPix RING pixel numbers of points (degrees)."""
    z = np.sin(np.radians(dec))
    za = np.abs(z)
    tt = np.mod(np.radians(ra), 2 * np.pi) / (np.pi / 2)
    # Equatorial belt.
    temp1 = nside * (0.5 + tt)
    temp2 = nside * z * 0.75
    jp = np.floor(temp1 - temp2).astype(np.int64)
    jm = np.floor(temp1 + temp2).astype(np.int64)
    ring = nside + 1 + jp - jm
    shift = 1 - (ring & 1)
    ip = np.mod((jp + jm - nside + shift + 1) // 2, 4 * nside)
    equatorial = 2 * nside * (nside - 1) + (ring - 1) * 4 * nside + ip
    # Polar caps.
    tp = tt - np.floor(tt)
    tmp = nside * np.sqrt(3 * (1 - za))
    jp = np.floor(tp * tmp).astype(np.int64)
    jm = np.floor((1 - tp) * tmp).astype(np.int64)
    ring = np.maximum(jp + jm + 1, 1)
    ip = np.mod(np.floor(tt * ring).astype(np.int64), 4 * ring)
    north = 2 * ring * (ring - 1) + ip
    south = 12 * nside * nside - 2 * ring * (ring + 1) + ip
    polar = np.where(z > 0, north, south)
    return np.asarray(np.where(za <= 2 / 3, equatorial, polar), dtype=np.int64)


def _offset(
    rng: np.random.Generator,
    ra: npt.NDArray[np.float64],
    dec: npt.NDArray[np.float64],
    separation: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Move points by ``separation`` arcseconds in random directions."""
    angle = rng.uniform(0, 2 * np.pi, len(ra))
    step = separation / 3600
    new_dec = dec + step * np.sin(angle)
    new_ra = ra + step * np.cos(angle) / np.cos(np.radians(dec))
    return new_ra, new_dec


def truth_rows(
    sky: Sky, rng: np.random.Generator, columns: tuple[CatalogColumn, ...]
) -> list[ColumnData]:
    """Values of every ``truth_match`` column for one cell."""
    count = sky.count
    has_truth = rng.random(count) >= 0.04
    matched = np.flatnonzero(has_truth)
    good = rng.random(len(matched)) < 0.93
    snr_i = np.maximum(np.abs(sky.snr[3, matched]), 1.0)
    separation = np.where(
        good,
        np.minimum(rng.rayleigh(0.02 + 0.4 / snr_i), 0.95),
        rng.uniform(0.3, 1.0, len(matched)),
    )
    match_ra, match_dec = _offset(rng, sky.ra[matched], sky.dec[matched], separation)

    extra = int(count * UNMATCHED_FRACTION)
    extra_ra, extra_dec = uniform_positions(rng, sky.cell.box, extra)
    extra_star = rng.random(extra) < 0.05
    extra_r = rng.uniform(26.3, 28.8, extra)
    supernova = ~extra_star & (rng.random(extra) < 0.003)
    extra_mag = extra_r + colours(rng, extra_star)

    total = len(matched) + extra
    ra = np.concatenate([match_ra, extra_ra])
    dec = np.concatenate([match_dec, extra_dec])
    is_star = np.concatenate([sky.is_star[matched], extra_star])
    is_sn = np.concatenate([np.zeros(len(matched), np.bool_), supernova])
    true_mag = np.concatenate([sky.true_mag[:, matched], extra_mag], axis=1)
    ebv = np.concatenate([sky.ebv[matched], 0.02 + np.zeros(extra)])
    redshift = np.concatenate(
        [sky.redshift[matched], np.where(extra_star, 0.0, rng.uniform(0.5, 3.0, extra))]
    )
    match_id = np.concatenate([sky.object_id[matched], np.full(extra, -1)])
    match_sep = np.concatenate([separation, np.full(extra, -1.0)])
    good_match = np.concatenate([good, np.zeros(extra, np.bool_)])
    nearest = np.concatenate(
        [
            np.where(
                good, rng.random(len(matched)) < 0.98, rng.random(len(matched)) < 0.5
            ),
            np.zeros(extra, np.bool_),
        ]
    )

    serial = 2 * sky.cell.first + np.arange(total, dtype=np.int64)
    galaxy = ~is_star & ~is_sn
    cosmodc2_id = np.where(galaxy, 10_000_000_000 + serial, -1)
    truth_type = np.where(is_sn, 3, np.where(is_star, 2, 1)).astype(np.int64)
    host = np.full(total, -1, np.int64)
    galaxies = np.flatnonzero(galaxy)
    if len(galaxies):
        host = np.where(is_sn, cosmodc2_id[rng.choice(galaxies, total)], -1)
    variable = np.where(is_sn, True, rng.random(total) < np.where(is_star, 0.05, 0.01))

    flux = mag_to_flux(true_mag)
    dereddened = flux * np.power(10, 0.4 * EXTINCTION_COEFFICIENTS[:, None] * ebv)
    tract, patch, _, _, _ = sky_map_position(ra, dec)
    values: dict[str, npt.NDArray[np.generic]] = {
        "id": np.char.mod("%011d", 10_000_000_000 + serial).astype("S11"),
        "host_galaxy": host,
        "ra": ra,
        "dec": dec,
        "redshift": redshift,
        "is_variable": variable.astype(np.int32),
        "is_pointsource": (is_star | is_sn).astype(np.int32),
        "mag_r": flux_to_mag(flux[2]),
        "tract": tract,
        "patch": patch,
        "cosmodc2_hp": np.where(galaxy, healpix_ring(ra, dec, _COSMODC2_NSIDE), -1),
        "cosmodc2_id": cosmodc2_id,
        "truth_type": truth_type,
        "match_objectId": match_id,
        "match_sep": match_sep,
        "is_good_match": good_match,
        "is_nearest_neighbor": nearest,
        "is_unique_truth_entry": np.ones(total, np.bool_),
    }
    for index, band in enumerate(BANDS):
        values[f"flux_{band}"] = flux[index]
        values[f"flux_{band}_noMW"] = dereddened[index]

    order = spatial_order(ra, dec, sky.cell.box)
    result: list[ColumnData] = []
    for column in columns:
        if column.name not in values:
            raise ValueError(f"No rule for truth_match.{column.name}")
        result.append(ColumnData(values[column.name][order]))
    return result
