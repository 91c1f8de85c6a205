"""The synthetic sky the generated catalogs describe.

The footprint is cut into cells (0.25 to 5 degrees, by scale); a scale of
N objects gives each cell its share of N by area (uniform density on the
sphere), and each cell's objects come from a numpy Generator seeded with
``(seed, cell)``, so cells are generated independently (in parallel, in any
order) and the same scale and seed always give the same objects.
Everything tables share about an object (position, type, true magnitudes,
size, the noise of its object measurements) is drawn here; each table then
draws its own measurement details from ``(seed, cell, table)``.

Photometry follows a deep survey: galaxy number counts rising as
``10**(0.33 m)`` and stars as ``10**(0.12 m)``, cut by a completeness that
falls around the detection limit, colours of galaxies and of the stellar
locus, and errors from 5-sigma depths close to five years of LSST
(``FIVE_SIGMA_DEPTHS``), so errors grow with magnitude.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "AB_ZERO_POINT_NJY",
    "BANDS",
    "CELL_SIDES",
    "DEFAULT_SEED",
    "FIVE_SIGMA_DEPTHS",
    "FOOTPRINT",
    "MAX_CELL_OBJECTS",
    "PIXEL_SCALE",
    "Cell",
    "Footprint",
    "Sky",
    "cell_side",
    "colours",
    "flux_to_mag",
    "footprint_cells",
    "mag_to_flux",
    "make_sky",
    "sky_map_position",
    "spatial_order",
    "uniform_positions",
]

DEFAULT_SEED = 20210630
"""Seed of the generated catalogs unless another is asked for."""

BANDS = "ugrizy"
AB_ZERO_POINT_NJY = 31.4
"""AB magnitude of a 1 nJy source."""

PIXEL_SCALE = 0.2
"""Arcseconds per pixel of the coadds."""

FIVE_SIGMA_DEPTHS = np.array([25.6, 27.0, 27.1, 26.4, 25.7, 24.6])
"""Point-source 5-sigma depth per band (AB)."""

PSF_FWHM = np.array([0.92, 0.87, 0.83, 0.80, 0.78, 0.76])
"""Median seeing per band (arcseconds)."""

EXTINCTION_COEFFICIENTS = np.array([4.81, 3.64, 2.70, 2.06, 1.58, 1.31])
"""A_band / E(B-V)."""

VISITS = np.array([28, 40, 92, 92, 82, 82]) // 2
"""Mean number of visits per band in five years."""

CELL_SIDES = (5.0, 2.5, 1.25, 1.0, 0.5, 0.25)
"""Sides of generation cells (degrees) that tile the footprint, largest first."""

MAX_CELL_OBJECTS = 20_000
"""Objects a cell holds at most on average (bounds a chunk's memory)."""

TRACT_SIZE = 1.75
"""Side of a tract (degrees); tracts hold 7 x 7 patches."""

_STAR_FRACTION = 0.12
_TRACT_PIXELS = TRACT_SIZE * 3600 / PIXEL_SCALE


@dataclass(frozen=True, slots=True)
class Footprint:
    """A box in RA and Dec (degrees)."""

    ra_min: float
    ra_max: float
    dec_min: float
    dec_max: float

    @property
    def area(self) -> float:
        """Solid angle in square degrees."""
        sin_band = math.sin(math.radians(self.dec_max)) - math.sin(
            math.radians(self.dec_min)
        )
        return (self.ra_max - self.ra_min) * sin_band * 180 / math.pi


FOOTPRINT = Footprint(ra_min=50.0, ra_max=75.0, dec_min=-45.0, dec_max=-25.0)
"""The DC2 area the catalogs cover."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One generation cell and the objects it holds."""

    index: int
    box: Footprint
    first: int
    """Number of objects in the cells before this one."""

    count: int


def cell_side(scale: int) -> float:
    """The largest cell side giving at most MAX_CELL_OBJECTS objects a cell."""
    width = FOOTPRINT.ra_max - FOOTPRINT.ra_min
    height = FOOTPRINT.dec_max - FOOTPRINT.dec_min
    for side in CELL_SIDES:
        if scale / ((width / side) * (height / side)) <= MAX_CELL_OBJECTS:
            return side
    return CELL_SIDES[-1]


def footprint_cells(scale: int) -> tuple[Cell, ...]:
    """Split ``scale`` objects over the cells of the footprint by area.

    The cell size depends on the scale (bigger cells for small scales, so a
    chunk is never tiny nor huge). Counts are the largest-remainder rounding
    of each cell's share, so they add up to ``scale`` exactly and only
    depend on ``scale``.
    """
    if scale < 0:
        raise ValueError("The scale cannot be negative")
    side = cell_side(scale)
    steps_ra = round((FOOTPRINT.ra_max - FOOTPRINT.ra_min) / side)
    steps_dec = round((FOOTPRINT.dec_max - FOOTPRINT.dec_min) / side)
    boxes = [
        Footprint(
            FOOTPRINT.ra_min + i * side,
            FOOTPRINT.ra_min + (i + 1) * side,
            FOOTPRINT.dec_min + j * side,
            FOOTPRINT.dec_min + (j + 1) * side,
        )
        for j in range(steps_dec)
        for i in range(steps_ra)
    ]
    areas = np.array([box.area for box in boxes])
    shares = scale * areas / areas.sum()
    counts = np.floor(shares).astype(np.int64)
    remainder = scale - int(counts.sum())
    order = np.lexsort((np.arange(len(boxes)), -(shares - counts)))
    counts[order[:remainder]] += 1
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return tuple(
        Cell(index=i, box=box, first=int(first), count=int(count))
        for i, (box, first, count) in enumerate(zip(boxes, firsts, counts, strict=True))
    )


def mag_to_flux(mag: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """AB magnitudes to nJy."""
    return np.power(10.0, -0.4 * (mag - AB_ZERO_POINT_NJY))


def flux_to_mag(flux: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """nJy to AB magnitudes (NaN where the flux is not positive)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, AB_ZERO_POINT_NJY - 2.5 * np.log10(flux), np.nan)


@functools.cache
def _magnitude_table(
    slope: float, bright: float, faint: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """CDF of r magnitudes: power-law counts times detection completeness."""
    grid = np.linspace(bright, faint, 4001)
    completeness = 1.0 / (1.0 + np.exp((grid - 26.6) / 0.3))
    density = np.power(10.0, slope * (grid - faint)) * completeness
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return grid, cdf / cdf[-1]


def _draw_magnitudes(
    rng: np.random.Generator, count: int, slope: float, bright: float
) -> npt.NDArray[np.float64]:
    grid, cdf = _magnitude_table(slope, bright, 28.0)
    return np.interp(rng.random(count), cdf, grid)


@dataclass(frozen=True, slots=True)
class Sky:
    """The objects of one cell, as every table sees them (arrays of ``count``)."""

    cell: Cell
    serial: npt.NDArray[np.int64]
    """Global row number of each object (0 .. scale-1)."""

    object_id: npt.NDArray[np.int64]
    parent_id: npt.NDArray[np.int64]
    """objectId of the blend parent (another object of the cell), 0 if none."""

    ra: npt.NDArray[np.float64]
    dec: npt.NDArray[np.float64]
    tract: npt.NDArray[np.int64]
    patch: npt.NDArray[np.bytes_]
    """``"x,y"`` patch of the tract."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    """Pixel position in the tract."""

    is_star: npt.NDArray[np.bool_]
    extended: npt.NDArray[np.bool_]
    """What the measurement thinks: mostly not is_star, wrong at the faint end."""

    ebv: npt.NDArray[np.float64]
    true_mag: npt.NDArray[np.float64]
    """True AB magnitudes (6 x count, reddened by the Milky Way)."""

    size: npt.NDArray[np.float64]
    """Half-light radius (arcseconds, 0 for stars)."""

    e1: npt.NDArray[np.float64]
    e2: npt.NDArray[np.float64]
    redshift: npt.NDArray[np.float64]
    fwhm: npt.NDArray[np.float64]
    """PSF FWHM (6 x count, arcseconds)."""

    sky_sigma: npt.NDArray[np.float64]
    """Point-source flux error from the sky (6, nJy)."""

    cmodel_flux: npt.NDArray[np.float64]
    cmodel_error: npt.NDArray[np.float64]
    psf_flux: npt.NDArray[np.float64]
    psf_error: npt.NDArray[np.float64]
    """Measured object fluxes and errors (6 x count, nJy)."""

    blendedness: npt.NDArray[np.float64]

    @property
    def count(self) -> int:
        """Number of objects."""
        return self.cell.count

    @property
    def true_flux(self) -> npt.NDArray[np.float64]:
        """True fluxes (6 x count, nJy)."""
        return mag_to_flux(self.true_mag)

    @property
    def snr(self) -> npt.NDArray[np.float64]:
        """Signal to noise of the cModel fluxes (6 x count)."""
        return self.cmodel_flux / self.cmodel_error

    @property
    def reference_band(self) -> npt.NDArray[np.int64]:
        """Index of the band the reference measurement used (i unless too faint)."""
        preference = [3, 2, 4, 5, 1, 0]
        detected = self.snr[preference] >= 5
        first = np.argmax(detected, axis=0)
        return np.where(detected.any(axis=0), np.array(preference)[first], 3)


def _positions(
    rng: np.random.Generator, box: Footprint, count: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Uniform on the sphere within the box, ordered by 0.1 degree sub-cells."""
    ra, dec = uniform_positions(rng, box, count)
    order = spatial_order(ra, dec, box)
    return ra[order], dec[order]


def uniform_positions(
    rng: np.random.Generator, box: Footprint, count: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points drawn uniformly on the sphere within a box."""
    ra = rng.uniform(box.ra_min, box.ra_max, count)
    sin_low, sin_high = np.sin(np.radians([box.dec_min, box.dec_max]))
    dec = np.degrees(np.arcsin(rng.uniform(sin_low, sin_high, count)))
    return ra, dec


def spatial_order(
    ra: npt.NDArray[np.float64], dec: npt.NDArray[np.float64], box: Footprint
) -> npt.NDArray[np.intp]:
    """Order of points by 0.1 degree sub-cells of a box, row by row in a snake.

    Rows written in this order are already close to their sky neighbours on
    disk, which makes clustering on the spatial index cheap.
    """
    steps = max(1, round((box.dec_max - box.dec_min) / 0.1))
    row = np.floor((dec - box.dec_min) / (box.dec_max - box.dec_min) * steps)
    column = np.floor((ra - box.ra_min) / (box.ra_max - box.ra_min) * steps)
    row, column = row.clip(0, steps - 1), column.clip(0, steps - 1)
    snake = np.where(row % 2 == 0, column, steps - 1 - column)
    return np.lexsort((ra, snake, row))


def sky_map_position(
    ra: npt.NDArray[np.float64], dec: npt.NDArray[np.float64]
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.bytes_],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
]:
    """Tract, patch and tract pixel position of each point (a ring sky map)."""
    ring = np.floor((dec + 90.0) / TRACT_SIZE)
    ring_dec = ring * TRACT_SIZE - 90.0
    width = TRACT_SIZE / np.cos(np.radians(ring_dec + TRACT_SIZE / 2))
    column = np.floor(ra / width)
    tract = (ring * 200 + column).astype(np.int64)
    x = (ra - column * width) / width * _TRACT_PIXELS
    y = (dec - ring_dec) / TRACT_SIZE * _TRACT_PIXELS
    patch_x = np.clip(x // (_TRACT_PIXELS / 7), 0, 6).astype(np.int64)
    patch_y = np.clip(y // (_TRACT_PIXELS / 7), 0, 6).astype(np.int64)
    patch = np.char.add(
        np.char.add(patch_x.astype("S1"), b","), patch_y.astype("S1")
    ).astype("S3")
    return tract, patch, x, y, (patch_y * 7 + patch_x)


def colours(
    rng: np.random.Generator, is_star: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Magnitude offsets from r per band (6 x count)."""
    count = len(is_star)
    galaxy = np.stack(
        [
            rng.normal(1.15, 0.45, count),  # u - r
            rng.normal(0.55, 0.25, count),  # g - r
            np.zeros(count),
            rng.normal(-0.30, 0.15, count),  # i - r
            rng.normal(-0.45, 0.20, count),  # z - r
            rng.normal(-0.50, 0.25, count),  # y - r
        ]
    )
    temperature = rng.random(count)
    star = np.stack(
        [
            1.2 + 2.7 * temperature,
            0.3 + 1.2 * temperature,
            np.zeros(count),
            -(0.1 + 1.2 * temperature**2),
            -(0.15 + 1.7 * temperature**2),
            -(0.17 + 1.9 * temperature**2),
        ]
    )
    return np.where(is_star, star, galaxy)


def make_sky(cell: Cell, seed: int) -> Sky:
    """Draw the objects of a cell (deterministic in ``cell`` and ``seed``)."""
    rng = np.random.default_rng([seed, cell.index, 0])
    count = cell.count
    ra, dec = _positions(rng, cell.box, count)
    tract, patch, x, y, patch_index = sky_map_position(ra, dec)
    serial = cell.first + np.arange(count, dtype=np.int64)
    object_id = (tract << 40) + (patch_index << 34) + serial

    is_star = rng.random(count) < _STAR_FRACTION
    mag_r = np.where(
        is_star,
        _draw_magnitudes(rng, count, 0.12, 15.0),
        _draw_magnitudes(rng, count, 0.33, 17.0),
    )
    ebv = 0.02 + 0.012 * np.sin(np.radians(ra) * 14) * np.cos(np.radians(dec) * 9)
    ebv = ebv + rng.normal(0, 0.002, count).clip(-0.005, 0.005)
    extinction = EXTINCTION_COEFFICIENTS[:, None] * ebv
    true_mag = mag_r + colours(rng, is_star) + extinction - extinction[2]

    size = np.where(
        is_star,
        0.0,
        0.5 * np.power(10, -0.08 * (mag_r - 22)) * rng.lognormal(0, 0.4, count),
    )
    ellipticity = np.clip(rng.normal(0, 0.25, (2, count)), -0.8, 0.8)
    ellipticity[:, is_star] *= 0.05
    redshift = np.where(
        is_star,
        0.0,
        np.clip(0.08 * (mag_r - 16) * rng.lognormal(0, 0.35, count), 0.01, 4.0),
    )
    seeing = 1 + 0.08 * np.sin(np.radians(ra) * 20 + np.radians(dec) * 7)
    fwhm = PSF_FWHM[:, None] * seeing * rng.lognormal(0, 0.02, count)

    sky_sigma = mag_to_flux(FIVE_SIGMA_DEPTHS)[:, None] / 5 * np.ones(count)
    true_flux = mag_to_flux(true_mag)
    spread = np.sqrt(1 + (size / (fwhm / 2.355)) ** 2)
    cmodel_error = np.hypot(sky_sigma * spread, 0.005 * true_flux)
    cmodel_flux = true_flux + cmodel_error * rng.standard_normal((6, count))
    psf_fraction = 1 / (1 + (size / fwhm) ** 2)
    psf_error = np.hypot(sky_sigma, 0.005 * true_flux)
    psf_flux = true_flux * psf_fraction + psf_error * rng.standard_normal((6, count))

    faint = 1 / (1 + np.exp(-(mag_r - 25.3) / 0.4))
    extended = (~is_star) ^ (rng.random(count) < 0.02 + 0.3 * faint)

    blended = rng.random(count) < 0.15
    partner = rng.integers(0, max(count, 1), count)
    parent_id = np.where(blended & (partner != np.arange(count)), object_id[partner], 0)
    blendedness = np.where(
        parent_id != 0, rng.uniform(0.02, 0.6, count), rng.exponential(0.005, count)
    )
    return Sky(
        cell=cell,
        serial=serial,
        object_id=object_id,
        parent_id=parent_id,
        ra=ra,
        dec=dec,
        tract=tract,
        patch=patch,
        x=x,
        y=y,
        is_star=is_star,
        extended=extended,
        ebv=ebv,
        true_mag=true_mag,
        size=size,
        e1=ellipticity[0],
        e2=ellipticity[1],
        redshift=redshift,
        fwhm=fwhm,
        sky_sigma=sky_sigma,
        cmodel_flux=cmodel_flux,
        cmodel_error=cmodel_error,
        psf_flux=psf_flux,
        psf_error=psf_error,
        blendedness=blendedness,
    )
