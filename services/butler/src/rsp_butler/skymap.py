"""A sky map over the DC2 footprint: tracts and patches as RA/Dec boxes.

The real DC2 sky map comes from the Science Pipelines' ``lsst.skymap``,
which is not published for plain Python installs. This one is registered as
Butler dimension records directly: tracts tile RA 50-75 deg and Dec -45 to
-25 deg in a grid, each tract split into patches. Tract ids count from the
south-west corner along RA; patch ids are ``y * nx + x`` as in
``lsst.skymap``. Images of a patch use a TAN projection centred on it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property

import astropy.wcs
from lsst.sphgeom import ConvexPolygon, LonLat, UnitVector3d

__all__ = ["Patch", "SkyMap", "Tract", "dc2_skymap"]


def _box_polygon(ra: tuple[float, float], dec: tuple[float, float]) -> ConvexPolygon:
    corners = [(ra[0], dec[0]), (ra[1], dec[0]), (ra[1], dec[1]), (ra[0], dec[1])]
    return ConvexPolygon([UnitVector3d(LonLat.fromDegrees(r, d)) for r, d in corners])


def tan_wcs(
    center: tuple[float, float], size: tuple[float, float], pixels: int
) -> astropy.wcs.WCS:
    """A TAN WCS of ``pixels`` square pixels covering ``size`` (deg) at ``center``.

    ``size`` is (RA extent, Dec extent) in degrees of RA and Dec.
    """
    ra, dec = center
    width = size[0] * math.cos(math.radians(dec))
    scale = max(width, size[1]) / pixels
    wcs = astropy.wcs.WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [(pixels + 1) / 2, (pixels + 1) / 2]
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.cunit = ["deg", "deg"]
    return wcs


@dataclass(frozen=True)
class Patch:
    """One patch of a tract."""

    tract: int
    id: int
    x: int
    y: int
    ra: tuple[float, float]
    dec: tuple[float, float]

    @property
    def center(self) -> tuple[float, float]:
        """(RA, Dec) of the centre, degrees."""
        return ((self.ra[0] + self.ra[1]) / 2, (self.dec[0] + self.dec[1]) / 2)

    @property
    def region(self) -> ConvexPolygon:
        """The patch on the sky."""
        return _box_polygon(self.ra, self.dec)

    def wcs(self, pixels: int) -> astropy.wcs.WCS:
        """TAN projection of an image of ``pixels`` x ``pixels`` covering it."""
        return tan_wcs(
            self.center, (self.ra[1] - self.ra[0], self.dec[1] - self.dec[0]), pixels
        )


@dataclass(frozen=True)
class Tract:
    """One tract of the sky map and its patches."""

    id: int
    ra: tuple[float, float]
    dec: tuple[float, float]
    patches: tuple[Patch, ...]

    @property
    def region(self) -> ConvexPolygon:
        """The tract on the sky."""
        return _box_polygon(self.ra, self.dec)


@dataclass(frozen=True)
class SkyMap:
    """A grid sky map of tracts, each cut into ``patches`` x ``patches`` patches.

    Parameters
    ----------
    name
        Value of the ``skymap`` dimension.
    ra
        RA range covered, degrees.
    dec
        Dec range covered, degrees.
    tracts_ra
        Number of tracts along RA.
    tracts_dec
        Number of tracts along Dec.
    patches
        Patches per tract along each axis.
    """

    name: str
    ra: tuple[float, float]
    dec: tuple[float, float]
    tracts_ra: int
    tracts_dec: int
    patches: int

    @cached_property
    def tracts(self) -> tuple[Tract, ...]:
        """Every tract, by id."""
        tract_ra = (self.ra[1] - self.ra[0]) / self.tracts_ra
        tract_dec = (self.dec[1] - self.dec[0]) / self.tracts_dec
        tracts = []
        for j in range(self.tracts_dec):
            for i in range(self.tracts_ra):
                ra = (self.ra[0] + i * tract_ra, self.ra[0] + (i + 1) * tract_ra)
                dec = (self.dec[0] + j * tract_dec, self.dec[0] + (j + 1) * tract_dec)
                tract_id = j * self.tracts_ra + i
                tracts.append(
                    Tract(tract_id, ra, dec, self._patches(tract_id, ra, dec))
                )
        return tuple(tracts)

    def _patches(
        self, tract: int, ra: tuple[float, float], dec: tuple[float, float]
    ) -> tuple[Patch, ...]:
        step_ra = (ra[1] - ra[0]) / self.patches
        step_dec = (dec[1] - dec[0]) / self.patches
        return tuple(
            Patch(
                tract=tract,
                id=y * self.patches + x,
                x=x,
                y=y,
                ra=(ra[0] + x * step_ra, ra[0] + (x + 1) * step_ra),
                dec=(dec[0] + y * step_dec, dec[0] + (y + 1) * step_dec),
            )
            for y in range(self.patches)
            for x in range(self.patches)
        )

    @property
    def hash(self) -> bytes:
        """A digest of the geometry (the ``skymap`` record's ``hash``)."""
        grid = (self.ra, self.dec, self.tracts_ra, self.tracts_dec, self.patches)
        text = f"{self.name}:{grid}"
        return hashlib.sha1(text.encode(), usedforsecurity=False).digest()

    def tract(self, tract_id: int) -> Tract:
        """The tract with id ``tract_id``.

        Raises
        ------
        KeyError
            If the sky map has no such tract.
        """
        for tract in self.tracts:
            if tract.id == tract_id:
                return tract
        raise KeyError(f"sky map {self.name} has no tract {tract_id}")

    def tract_at(self, ra: float, dec: float) -> Tract | None:
        """The tract whose box holds (ra, dec), if any."""
        for tract in self.tracts:
            if tract.ra[0] <= ra < tract.ra[1] and tract.dec[0] <= dec < tract.dec[1]:
                return tract
        return None


def dc2_skymap() -> SkyMap:
    """The DC2 footprint (RA 50-75, Dec -45 to -25 deg): 5 x 4 tracts, 4 x 4 patches."""
    return SkyMap(
        name="DC2",
        ra=(50.0, 75.0),
        dec=(-45.0, -25.0),
        tracts_ra=5,
        tracts_dec=4,
        patches=4,
    )
