"""Image catalog and sizes the notebooks tests configure."""

from __future__ import annotations

from typing import Any

from rsp_notebooks.options import ImageCatalog, SizeCatalog
from rsp_notebooks.spawning import DEFAULT_SIZES

__all__ = ["IMAGES", "SIZES", "image_catalog", "size_catalog"]

IMAGES: dict[str, Any] = {
    "images": [
        {
            "reference": "ghcr.io/rsp/lab:r29.2.0",
            "tag": "r29.2.0",
            "name": "Release r29.2.0",
        },
        {"reference": "ghcr.io/rsp/lab:w_2026_46", "tag": "w_2026_46"},
        {"reference": "ghcr.io/rsp/lab:d_2026_11_20", "tag": "d_2026_11_20"},
        {"reference": "ghcr.io/rsp/lab:w_2026_40", "tag": "w_2026_40"},
    ],
    "classes": {
        "recommended": "r29.2.0",
        "latest-release": "r29.2.0",
        "latest-weekly": "w_2026_46",
        "latest-daily": "d_2026_11_20",
    },
}
"""Four images, every class configured, one image only in the dropdown."""

SIZES = DEFAULT_SIZES


def image_catalog() -> ImageCatalog:
    """The tests' image catalog."""
    return ImageCatalog.from_config(IMAGES)


def size_catalog() -> SizeCatalog:
    """The default sizes, medium by default."""
    return SizeCatalog.from_config(SIZES, "medium")
