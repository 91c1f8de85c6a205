"""Values of every column of the object-keyed tables, driven by the schema.

``object``, ``position``, ``reference`` and ``forced_photometry`` hold one
row per object. Each column's values are chosen by rules on its name (with
the band taken out: ``mag_g_cModel`` is ``mag_{b}_cModel``,
``g_base_PsfFlux_instFlux`` is ``{b}_base_PsfFlux_instFlux``), then by its
unit and datatype, so a column nobody wrote a rule for still gets plausible
values of the right type. Photometry comes from the shared :class:`Sky`:
magnitudes, nJy and nanomaggy fluxes, instrumental counts, signal to noise
and errors of one object agree with each other across tables.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..models.schema import CatalogColumn, VOTableDatatype
from .pgcopy import ColumnData
from .sky import BANDS, FIVE_SIGMA_DEPTHS, PIXEL_SCALE, VISITS, Sky, flux_to_mag

__all__ = ["BAND_PATTERNS", "ObjectMeasurements", "column_stem", "rule_for"]

NJY_PER_NANOMAGGY = 3631.0
COUNTS_PER_NJY = 10 ** (-0.4 * (31.4 - 27.0))
"""Instrumental counts per nJy (a zero point of 27 mag)."""

BAND_PATTERNS: dict[str, re.Pattern[str]] = {
    "object": re.compile(r"_([ugrizy])(?=_|$)"),
    "forced_photometry": re.compile(r"^([ugrizy])_"),
    "position": re.compile(r"_([ugrizy])$"),
    "truth_match": re.compile(r"^flux_([ugrizy])"),
}
"""Where a column name carries its band, per table (``reference`` has none)."""

_REFERENCE_BAND = BANDS.index("i")

Values = npt.NDArray[Any]
Rule = Callable[["ObjectMeasurements", int, CatalogColumn], Values | ColumnData]


def column_stem(table: str, name: str) -> tuple[str, int | None]:
    """The name with its band replaced by ``{b}``, and the band's index."""
    pattern = BAND_PATTERNS.get(table)
    match = pattern.search(name) if pattern else None
    if match is None:
        return name, None
    start, end = match.span(1)
    return name[:start] + "{b}" + name[end:], BANDS.index(match.group(1))


@dataclass
class ObjectMeasurements:
    """Column values of one object-keyed table for one cell."""

    sky: Sky
    rng: np.random.Generator
    table: str
    _cache: dict[str, Values] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Number of rows."""
        return self.sky.count

    def column(self, column: CatalogColumn) -> ColumnData:
        """Values of one column, typed for the loader."""
        rule, band = rule_for(self.table, column)
        result = rule(self, band, column)
        return result if isinstance(result, ColumnData) else ColumnData(result)

    # Shared quantities

    def cached(self, key: str, make: Callable[[], Values]) -> Values:
        """A value computed once per chunk (so related columns agree)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def rare(self, probability: float) -> npt.NDArray[np.bool_]:
        """Flags that are mostly false."""
        return self.rng.random(self.count) < probability

    def normal(self, scale: float | Values) -> npt.NDArray[np.float64]:
        """Gaussian noise."""
        return self.rng.normal(0.0, 1.0, self.count) * scale

    def psf_sigma_pixels(self, band: int) -> npt.NDArray[np.float64]:
        """PSF Gaussian sigma in pixels."""
        return np.asarray(self.sky.fwhm[band] / 2.355 / PIXEL_SCALE)

    def source_sigma_pixels(self, band: int) -> npt.NDArray[np.float64]:
        """Gaussian sigma of the observed source (PSF and galaxy) in pixels."""
        galaxy = self.sky.size / 1.177 / PIXEL_SCALE
        return np.hypot(self.psf_sigma_pixels(band), galaxy)

    def moments(self, band: int, kind: str, *, psf: bool) -> npt.NDArray[np.float64]:
        """Second moments xx, yy or xy in pixels**2."""
        sigma2 = (
            self.psf_sigma_pixels(band) ** 2
            if psf
            else self.source_sigma_pixels(band) ** 2
        )
        e1 = 0.01 if psf else self.sky.e1
        e2 = 0.005 if psf else self.sky.e2
        if kind == "xx":
            return sigma2 * (1 + e1)
        if kind == "yy":
            return sigma2 * (1 - e1)
        return sigma2 * e2

    def counts(self, band: int, kind: str) -> tuple[npt.NDArray[np.float64], ...]:
        """Instrumental flux and error (counts) of a kind of measurement."""
        sky = self.sky
        if kind == "cmodel":
            flux, error = sky.cmodel_flux[band], sky.cmodel_error[band]
        elif kind == "psf":
            flux, error = sky.psf_flux[band], sky.psf_error[band]
        else:
            key = f"counts:{kind}:{band}"
            fraction = {"inner": 0.7, "gaussian": 0.85}.get(kind, 1.0)
            error = sky.cmodel_error[band] * (1.1 if kind != "inner" else 0.8)

            def draw() -> Values:
                noise = self.rng.standard_normal(self.count) * error
                return np.asarray(sky.cmodel_flux[band] * fraction + noise * 0.3)

            flux = self.cached(key, draw).astype(np.float64)
        return flux * COUNTS_PER_NJY, error * COUNTS_PER_NJY


def _flags(probability: float) -> Rule:
    return lambda m, _b, _c: m.rare(probability)


def _mostly(probability: float) -> Rule:
    return lambda m, _b, _c: ~m.rare(1 - probability)


def _magnitude(m: ObjectMeasurements, band: int, _c: CatalogColumn) -> ColumnData:
    mag = flux_to_mag(m.sky.cmodel_flux[band])
    return ColumnData(np.nan_to_num(mag), nulls=np.isnan(mag))


def _magnitude_error(m: ObjectMeasurements, band: int, _c: CatalogColumn) -> ColumnData:
    flux = m.sky.cmodel_flux[band]
    positive = flux > 0
    error = 1.0857 * m.sky.cmodel_error[band] / np.where(positive, flux, 1.0)
    return ColumnData(error, nulls=~positive)


def _counts_for(stem: str) -> str:
    if stem.endswith(("_inner", "_innerErr")):
        return "inner"
    for variant in ("initial", "exp", "dev"):
        if f"CModel_{variant}_" in stem:
            return f"cmodel_{variant}"
    if "CModel" in stem:
        return "cmodel"
    if "SdssShape" in stem or "Blendedness" in stem or "Hsm" in stem:
        return "gaussian"
    return "psf"


def _instrumental(m: ObjectMeasurements, band: int, c: CatalogColumn) -> Values:
    stem, _ = column_stem(m.table, c.name)
    if "LocalBackground" in stem:
        sigma = m.sky.sky_sigma[band] * COUNTS_PER_NJY * 0.05
        return sigma if stem.endswith("Err") else m.normal(sigma)
    flux, error = m.counts(band, _counts_for(stem))
    if stem.endswith("Err"):
        return error
    if stem.endswith("_parent"):
        return flux * (1 + m.sky.blendedness)
    return flux


def _pixel_position(m: ObjectMeasurements, _band: int, c: CatalogColumn) -> Values:
    base = m.sky.x if c.name.lower().endswith("x") else m.sky.y
    return base + m.normal(0.02)


def _centroid_error(m: ObjectMeasurements, band: int, _c: CatalogColumn) -> Values:
    snr = np.maximum(np.abs(m.sky.snr[band]), 1.0)
    return np.asarray(np.clip(m.psf_sigma_pixels(band) / snr, 0.001, 5.0))


def _moment(m: ObjectMeasurements, band: int, c: CatalogColumn) -> Values:
    stem, _ = column_stem(m.table, c.name)
    kind = re.findall(r"xx|yy|xy", stem)[-1]
    psf = "psf" in stem.lower()
    values = m.moments(band, kind, psf=psf)
    if stem.endswith("Err"):
        snr = np.maximum(np.abs(m.sky.snr[band]), 1.0)
        return np.asarray(np.abs(values) * 2 / snr + 0.001)
    if stem.endswith("_Cov"):
        return m.normal(np.abs(values) * 0.01)
    if "arcsec" in (c.unit or ""):
        return values * PIXEL_SCALE**2
    return values


def _input_count(m: ObjectMeasurements, band: int, _c: CatalogColumn) -> Values:
    return m.rng.poisson(VISITS[band], m.count).astype(np.int32)


def _variance(m: ObjectMeasurements, band: int, _c: CatalogColumn) -> Values:
    depth_factor = 10 ** (-0.4 * (FIVE_SIGMA_DEPTHS[band] - 27.0))
    return np.asarray(0.02 * depth_factor**2 * m.rng.lognormal(0, 0.1, m.count))


def _objective(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    return m.rng.gamma(2.0, 40.0, m.count)


def _iterations(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    return (m.rng.poisson(18, m.count) + 2).astype(np.int32)


def _fit_time(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    return m.rng.lognormal(np.log(0.012), 0.5, m.count)


def _nonlinear(m: ObjectMeasurements, _band: int, c: CatalogColumn) -> Values:
    if c.name.endswith("_2"):
        return np.log(np.maximum(m.sky.size, 0.05) / PIXEL_SCALE) + m.normal(0.05)
    return (m.sky.e1 if c.name.endswith("_0") else m.sky.e2) + m.normal(0.02)


def _frac_dev(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    return np.where(m.sky.is_star, 0.0, m.rng.beta(0.6, 1.2, m.count))


def _ellipticity(m: ObjectMeasurements, _band: int, c: CatalogColumn) -> Values:
    return (m.sky.e1 if c.name.endswith("e1") else m.sky.e2) + m.normal(0.03)


def _resolution(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    resolved = m.sky.size**2 / (m.sky.size**2 + (m.sky.fwhm[3] / 2) ** 2)
    return np.asarray(np.clip(resolved + m.normal(0.02), 0.0, 1.0))


def _blendedness(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    return m.sky.blendedness * m.rng.lognormal(0, 0.05, m.count)


def _ap_corr(m: ObjectMeasurements, _band: int, c: CatalogColumn) -> Values:
    if c.name.endswith("Err"):
        return m.rng.uniform(0.0005, 0.004, m.count)
    return 1.0 + m.normal(0.008)


def _psf_area(m: ObjectMeasurements, band: int, _c: CatalogColumn) -> Values:
    return 4 * np.pi * m.psf_sigma_pixels(band) ** 2


def _merge(kind: str) -> Rule:
    def rule(m: ObjectMeasurements, band: int, c: CatalogColumn) -> Values:
        if c.name.endswith("_sky"):
            return m.rare(0.01)
        if kind == "measurement":
            return np.asarray(m.sky.reference_band == band)
        detected = m.sky.snr[band] >= 5
        return np.asarray(detected & ~m.rare(0.03) if kind == "peak" else detected)

    return rule


def _object_rule(attribute: str) -> Rule:
    return lambda m, _b, _c: getattr(m.sky, attribute)


def _good(m: ObjectMeasurements, _band: int, _c: CatalogColumn) -> Values:
    return m.cached("good", lambda: ~m.rare(0.08))


_RULES: list[tuple[re.Pattern[str], Rule]] = [
    (re.compile(p), rule)
    for p, rule in [
        (r"^objectId$", _object_rule("object_id")),
        (r"^(parentObjectId|parent)$", _object_rule("parent_id")),
        (r"^(coord_)?ra$", _object_rule("ra")),
        (r"^(coord_)?dec$", _object_rule("dec")),
        (r"^tract$", _object_rule("tract")),
        (r"^patch$", _object_rule("patch")),
        (r"^extinction_bv$", _object_rule("ebv")),
        (r"^(x|y)$", lambda m, _b, c: getattr(m.sky, c.name)),
        (r"^(x|y)Err$", _centroid_error),
        (r"^good$|^\{b\}_good$", _good),
        (r"^clean$", lambda m, b, c: _good(m, b, c) & (m.sky.parent_id == 0)),
        (r"^deblend_nChild$", lambda m, _b, _c: np.zeros(m.count, np.int32)),
        (r"^detect_isPrimary$", _mostly(1.0)),
        (r"^detect_is(Patch|Tract)Inner$", _mostly(0.98)),
        (r"^merge_footprint_", _merge("footprint")),
        (r"^merge_peak_", _merge("peak")),
        (r"^merge_measurement_", _merge("measurement")),
        (r"^deblend_deblendedAsPsf$", lambda m, _b, _c: m.sky.is_star & ~m.rare(0.2)),
        (r"flags_region_usedFootprintArea$", lambda m, _b, _c: m.sky.size > 0.4),
        (r"flags_region_usedPsfArea$", lambda m, _b, _c: m.sky.size <= 0.4),
        (r"(^|_)flag$", _flags(0.02)),
        (r"flag", _flags(0.006)),
        (r"^mag_\{b\}(_cModel)?$", _magnitude),
        (r"^magerr_\{b\}(_cModel)?$", _magnitude_error),
        (r"^snr_\{b\}_cModel$", lambda m, b, _c: m.sky.snr[b]),
        (r"^psFlux_\{b\}$", lambda m, b, _c: m.sky.psf_flux[b] / NJY_PER_NANOMAGGY),
        (r"^psFluxErr_\{b\}$", lambda m, b, _c: m.sky.psf_error[b] / NJY_PER_NANOMAGGY),
        (r"^cModelFlux_\{b\}$", lambda m, b, _c: m.sky.cmodel_flux[b]),
        (r"^cModelFluxErr_\{b\}$", lambda m, b, _c: m.sky.cmodel_error[b]),
        (r"^psf_fwhm_\{b\}$", lambda m, b, _c: m.sky.fwhm[b]),
        (
            r"^psNdata$",
            lambda m, b, _c: np.round(np.pi * 9 * m.source_sigma_pixels(b) ** 2),
        ),
        (
            r"^(extendedness|.*ClassificationExtendedness_value)$",
            _object_rule("extended"),
        ),
        (
            r"^blendedness$|Blendedness_(raw_instFlux|abs_instFlux|old|abs)$",
            _blendedness,
        ),
        (r"^I(xx|yy|xy)(PSF)?_pixel", _moment),
        (r"(^|_)(x|y|X|Center_x|Center_y)$", _pixel_position),
        (r"_(x|y)Err$", _centroid_error),
        (r"(xx|yy|xy)(Err|_Cov)?$", _moment),
        (r"(instFlux|instFluxErr|_inner|_Flux|psfflux|child|parent)$", _instrumental),
        (r"apCorr(Err)?$", _ap_corr),
        (r"PsfFlux_area$", _psf_area),
        (r"InputCount_value$", _input_count),
        (r"Variance_value$", _variance),
        (r"objective$", _objective),
        (r"nIter$", _iterations),
        (r"_time$", _fit_time),
        (r"nonlinear_[012]$", _nonlinear),
        (r"fixed_[01]$", lambda m, _b, _c: m.normal(0.05)),
        (r"fracDev$", _frac_dev),
        (r"_e[12]$", _ellipticity),
        (r"Regauss_sigma$", lambda m, _b, _c: m.rng.uniform(0.1, 0.4, m.count)),
        (r"resolution$", _resolution),
    ]
]
"""Rules by column stem, first match wins."""


@functools.cache
def rule_for(table: str, column: CatalogColumn) -> tuple[Rule, int]:
    """The rule making a column's values, and the band it measures."""
    stem, band = column_stem(table, column.name)
    band_index = _REFERENCE_BAND if band is None else band
    for pattern, rule in _RULES:
        if pattern.search(stem):
            return rule, band_index
    return _by_type, band_index


def _by_type(  # noqa: PLR0911 (one answer per kind of column)
    m: ObjectMeasurements, band: int, column: CatalogColumn
) -> Values:
    """Plausible values for a column no rule knows, from its unit and type."""
    unit = column.unit or ""
    datatype = column.datatype
    if datatype is VOTableDatatype.boolean:
        return m.rare(0.01)
    if datatype in (VOTableDatatype.char, VOTableDatatype.unicodeChar):
        return np.asarray(np.char.add(b"v", m.sky.serial.astype("S20")))
    if datatype is VOTableDatatype.long:
        return m.sky.serial + 1
    if datatype in (
        VOTableDatatype.int,
        VOTableDatatype.short,
        VOTableDatatype.unsignedByte,
    ):
        return m.rng.poisson(3, m.count).astype(np.int32)
    if unit == "mag":
        return np.nan_to_num(flux_to_mag(np.abs(m.sky.cmodel_flux[band])), nan=30.0)
    if unit in ("nJy", "nmgy"):
        scale = 1.0 if unit == "nJy" else 1 / NJY_PER_NANOMAGGY
        return np.asarray(m.sky.cmodel_flux[band] * scale)
    if unit == "count":
        return m.counts(band, "psf")[0]
    if unit.startswith("pixel**2") or unit == "arcsec**2":
        return m.moments(band, "xx", psf=False)
    if unit == "pixel":
        return m.sky.x
    if unit == "arcsec":
        return m.rng.exponential(0.1, m.count)
    if unit == "s":
        return _fit_time(m, band, column)
    return m.rng.lognormal(0, 0.5, m.count)
