"""Synthetic pixels and catalogs of the sample repository, reproducible bit for bit.

Every random draw comes from a generator seeded by the dataset it belongs
to (dataset type and data ID), so one dataset's content does not depend on
which others are made or in which order. Object tables are the TAP
catalog's rows (:mod:`rsp_butler.catalog`); coadd images show those objects
as Gaussian point sources over noise, so a table and the image of the same
patch agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import astropy.table
import astropy.units as u
import astropy.wcs
import lsst.images as li
import numpy as np

__all__ = [
    "BANDS",
    "MASK_SCHEMA",
    "ImageSpec",
    "masked_image",
    "rng_for",
    "source_table",
]

BANDS = ("u", "g", "r", "i", "z", "y")
"""LSST bands, in wavelength order."""

_COLOR = {"u": 1.2, "g": 0.5, "r": 0.0, "i": -0.2, "z": -0.3, "y": -0.35}
"""Typical magnitude offset from r of a field star, per band."""

MASK_SCHEMA = li.MaskSchema(
    [
        li.MaskPlane("BAD", "Pixel has no useful data"),
        li.MaskPlane("EDGE", "Pixel is near the edge of the image"),
        li.MaskPlane("DETECTED", "Pixel is part of a detected source"),
    ]
)
"""Mask planes of every image."""

_AB_ZERO_POINT_NJY = 31.4
"""AB magnitude of 1 nJy."""


def rng_for(*parts: object) -> np.random.Generator:
    """A generator seeded by ``parts`` (dataset type and data ID values)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _fluxes(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    r_mag = rng.uniform(17.0, 25.5, count)
    fluxes: dict[str, np.ndarray] = {}
    for band in BANDS:
        mag = r_mag + _COLOR[band] + rng.normal(0.0, 0.3, count)
        fluxes[band] = 10 ** ((_AB_ZERO_POINT_NJY - mag) / 2.5)
    return fluxes


def source_table(
    visit: int,
    detector: int,
    *,
    band: str,
    ra: tuple[float, float],
    dec: tuple[float, float],
    count: int,
) -> astropy.table.Table:
    """The ``src`` catalog of one detector of one visit."""
    rng = rng_for("src", visit, detector)
    table = astropy.table.Table()
    table["sourceId"] = (
        (np.int64(visit) << 24)
        | (np.int64(detector) << 16)
        | np.arange(count, dtype=np.int64)
    )
    table["coord_ra"] = astropy.table.Column(
        rng.uniform(ra[0], ra[1], count), unit=u.deg
    )
    table["coord_dec"] = astropy.table.Column(
        rng.uniform(dec[0], dec[1], count), unit=u.deg
    )
    flux = _fluxes(rng, count)[band]
    error = np.sqrt(flux * 5.0 + 80.0**2)
    table["psfFlux"] = astropy.table.Column(
        flux + rng.normal(0, 1, count) * error, unit=u.nJy
    )
    table["psfFluxErr"] = astropy.table.Column(error, unit=u.nJy)
    table["visit"] = np.full(count, visit, dtype=np.int64)
    table["detector"] = np.full(count, detector, dtype=np.int64)
    table["band"] = np.full(count, band)
    return table


@dataclass(frozen=True)
class ImageSpec:
    """How an image is drawn.

    Parameters
    ----------
    pixels
        Width and height in pixels.
    noise
        Standard deviation of the background noise, nJy per pixel.
    psf_sigma
        Gaussian PSF width, pixels.
    """

    pixels: int = 256
    noise: float = 25.0
    psf_sigma: float = 1.6


def masked_image(
    seed: tuple[object, ...],
    wcs: astropy.wcs.WCS,
    *,
    frame: li.TractFrame | li.DetectorFrame,
    ra: np.ndarray,
    dec: np.ndarray,
    flux: np.ndarray,
    spec: ImageSpec,
) -> li.MaskedImage:
    """An image of point sources at (ra, dec) with ``flux`` (nJy) over noise.

    Parameters
    ----------
    seed
        Parts seeding the noise (dataset type and data ID).
    wcs
        Projection of the image.
    frame
        Pixel frame of the image (tract or detector).
    ra, dec, flux
        The sources.
    spec
        Size, noise and PSF.
    """
    n = spec.pixels
    rng = rng_for(*seed)
    pixels = rng.normal(0.0, spec.noise, (n, n))
    x, y = wcs.world_to_pixel_values(ra, dec)
    half = int(np.ceil(4 * spec.psf_sigma))
    offsets = np.arange(-half, half + 1)
    norm = 1.0 / (2 * np.pi * spec.psf_sigma**2)
    for xc, yc, f in zip(x, y, flux, strict=True):
        ix, iy = round(float(xc)), round(float(yc))
        if not (-half <= ix < n + half and -half <= iy < n + half):
            continue
        xs = ix + offsets
        ys = iy + offsets
        gx = np.exp(-((xs - xc) ** 2) / (2 * spec.psf_sigma**2))
        gy = np.exp(-((ys - yc) ** 2) / (2 * spec.psf_sigma**2))
        stamp = f * norm * np.outer(gy, gx)
        keep_x = (xs >= 0) & (xs < n)
        keep_y = (ys >= 0) & (ys < n)
        pixels[np.ix_(ys[keep_y], xs[keep_x])] += stamp[np.ix_(keep_y, keep_x)]
    image_array = pixels.astype(np.float32)
    variance = np.full((n, n), spec.noise**2, dtype=np.float32) + np.clip(
        image_array, 0, None
    ) / np.float32(5.0)
    mask = li.Mask(0, schema=MASK_SCHEMA, shape=(n, n))
    edge = np.zeros((n, n), dtype=bool)
    edge[:2, :] = edge[-2:, :] = edge[:, :2] = edge[:, -2:] = True
    mask.set("EDGE", edge)
    mask.set("DETECTED", image_array > 5 * spec.noise)
    projection = li.SkyProjection.from_fits_wcs(wcs, frame)
    image = li.Image(image_array, unit=u.nJy, sky_projection=projection)
    return li.MaskedImage(
        image,
        mask=mask,
        variance=li.Image(variance, unit=u.nJy**2),
        sky_projection=projection,
    )
