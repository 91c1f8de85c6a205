"""The spawn form's choices: the image catalog, the lab sizes, the user's options.

The form fields are those of ``platform.md`` (as posted to
``/nb/hub/spawn``): ``image_list`` (a full image reference from the menu,
or :data:`DROPDOWN_SENTINEL` to use ``image_dropdown``), ``image_dropdown``,
``image_tag``, ``image_class`` (``recommended``, ``latest-release``,
``latest-weekly``, ``latest-daily``), ``size`` (``small``, ``medium``,
``large``; any case, as ``rubin-nublado-client`` sends ``Large``),
``enable_debug`` and ``reset_user_env``.

Only configured images and sizes are accepted; every refusal is a
:class:`LabOptionsError` whose message tells the user what to choose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "DROPDOWN_SENTINEL",
    "ImageCatalog",
    "ImageClass",
    "LabImage",
    "LabOptions",
    "LabOptionsError",
    "LabSize",
    "SizeCatalog",
    "parse_memory",
    "parse_options",
]

DROPDOWN_SENTINEL = "use_image_from_dropdown"
"""``image_list`` value meaning "the image chosen in ``image_dropdown``"."""

_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_MEMORY_UNITS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no", ""})


class LabOptionsError(ValueError):
    """The spawn options cannot be honoured; the message says why."""


def parse_memory(value: str | int) -> int:
    """Bytes from a Kubernetes quantity (``4Gi``, ``512M``, ``1073741824``).

    Raises
    ------
    ValueError
        If the value is not a quantity of memory.
    """
    if isinstance(value, int):
        return value
    match = _MEMORY_RE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a memory size (e.g. 4Gi)")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])


class ImageClass(StrEnum):
    """Ways to name an image by its role rather than its tag."""

    RECOMMENDED = "recommended"
    LATEST_RELEASE = "latest-release"
    LATEST_WEEKLY = "latest-weekly"
    LATEST_DAILY = "latest-daily"

    @property
    def label(self) -> str:
        """How the form names the class."""
        return self.value.replace("-", " ").capitalize()


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabImage(_Config):
    """An image users may run."""

    reference: Annotated[
        str,
        Field(min_length=1, description="Full reference: ghcr.io/org/lab:w_2026_40"),
    ]
    tag: Annotated[str, Field(min_length=1, description="Tag, e.g. w_2026_40")]
    name: Annotated[str, Field(description="Name shown in the form")] = ""

    @property
    def display_name(self) -> str:
        """The name shown in the form (the tag when none is configured)."""
        return self.name or self.tag


class ImageCatalog(_Config):
    """The images of the spawn form and which of them each class means."""

    images: Annotated[
        tuple[LabImage, ...], Field(min_length=1, description="Images users may run")
    ]
    classes: Annotated[
        dict[ImageClass, str],
        Field(description="Image class -> tag of the image it means"),
    ] = {}

    @model_validator(mode="after")
    def _check(self) -> Self:
        tags = [i.tag for i in self.images]
        references = [i.reference for i in self.images]
        if len(set(tags)) != len(tags) or len(set(references)) != len(references):
            raise ValueError("image tags and references must be unique")
        for image_class, tag in self.classes.items():
            if tag not in tags:
                raise ValueError(f"{image_class.value} names unknown tag {tag}")
        if ImageClass.RECOMMENDED not in self.classes:
            raise ValueError("the recommended image must be named")
        return self

    @classmethod
    def from_config(cls, value: Mapping[str, Any]) -> ImageCatalog:
        """The catalog from configuration data (traitlets, YAML).

        Raises
        ------
        ValueError
            With every problem of the configuration.
        """
        try:
            return cls.model_validate(value)
        except ValidationError as e:
            raise ValueError(f"invalid image catalog: {e}") from None

    def by_tag(self, tag: str) -> LabImage | None:
        """The image with this tag, if configured."""
        return next((i for i in self.images if i.tag == tag), None)

    def by_reference(self, reference: str) -> LabImage | None:
        """The image with this reference, if configured."""
        return next((i for i in self.images if i.reference == reference), None)

    def by_class(self, image_class: ImageClass) -> LabImage | None:
        """The image a class means, if the class is configured."""
        tag = self.classes.get(image_class)
        return None if tag is None else self.by_tag(tag)

    def menu(self) -> list[tuple[ImageClass, LabImage]]:
        """The images of the form's menu: one per configured class."""
        return [
            (c, image) for c in ImageClass if (image := self.by_class(c)) is not None
        ]

    def dropdown(self) -> list[LabImage]:
        """Every image, for the form's dropdown."""
        return list(self.images)


class LabSize(_Config):
    """A lab size: CPU and memory requests and limits."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    cpu_request: Annotated[float, Field(gt=0, description="CPUs reserved")]
    cpu_limit: Annotated[float, Field(gt=0, description="CPUs at most")]
    memory_request: Annotated[str, Field(description="Memory reserved (4Gi)")]
    memory_limit: Annotated[str, Field(description="Memory at most (8Gi)")]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.cpu_request > self.cpu_limit:
            raise ValueError(f"size {self.name}: cpu_request above cpu_limit")
        if self.memory_request_bytes > self.memory_limit_bytes:
            raise ValueError(f"size {self.name}: memory_request above memory_limit")
        return self

    @property
    def memory_request_bytes(self) -> int:
        """Reserved memory in bytes."""
        return parse_memory(self.memory_request)

    @property
    def memory_limit_bytes(self) -> int:
        """Memory limit in bytes."""
        return parse_memory(self.memory_limit)

    @property
    def description(self) -> str:
        """How the form describes the size."""
        cpu = f"{self.cpu_limit:g} CPU" + ("" if self.cpu_limit == 1 else "s")
        return f"{self.name.capitalize()} ({cpu}, {self.memory_limit} memory)"


class SizeCatalog(_Config):
    """The lab sizes users may choose and the default one."""

    sizes: Annotated[tuple[LabSize, ...], Field(min_length=1)]
    default: str

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [s.name for s in self.sizes]
        if len(set(names)) != len(names):
            raise ValueError("size names must be unique")
        if self.default not in names:
            raise ValueError(f"default size {self.default} is not configured")
        return self

    @classmethod
    def from_config(cls, sizes: Sequence[Mapping[str, Any]], default: str) -> Self:
        """The sizes from configuration data.

        Raises
        ------
        ValueError
            With every problem of the configuration.
        """
        try:
            return cls.model_validate({"sizes": list(sizes), "default": default})
        except ValidationError as e:
            raise ValueError(f"invalid lab sizes: {e}") from None

    def get(self, name: str) -> LabSize | None:
        """The size called ``name`` (any case), if configured."""
        wanted = name.strip().lower()
        return next((s for s in self.sizes if s.name == wanted), None)


class LabOptions(BaseModel):
    """What the user chose in the spawn form, checked against configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    image: LabImage
    size: LabSize
    enable_debug: bool = False
    reset_user_env: bool = False

    def to_user_options(self) -> dict[str, Any]:
        """JSON-able form kept by JupyterHub as the server's ``user_options``."""
        return {
            "image_list": self.image.reference,
            "size": self.size.name,
            "enable_debug": self.enable_debug,
            "reset_user_env": self.reset_user_env,
        }


def _single(form: Mapping[str, Any], name: str) -> str | None:
    """One value of a form field (JupyterHub gives lists), stripped."""
    value = form.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _flag(form: Mapping[str, Any], name: str) -> bool:
    value = _single(form, name)
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise LabOptionsError(f"{name} must be true or false, not {value!r}")


def _image(form: Mapping[str, Any], catalog: ImageCatalog) -> LabImage:
    reference = _single(form, "image_list")
    if reference == DROPDOWN_SENTINEL:
        reference = _single(form, "image_dropdown")
        if reference is None:
            raise LabOptionsError("Choose an image in the list of other images")
    elif reference is None:
        reference = _single(form, "image_dropdown")
    if reference is not None:
        image = catalog.by_reference(reference)
        if image is None:
            raise LabOptionsError(
                f"Image {reference} is not offered here; choose one of the form's"
            )
        return image
    if (class_name := _single(form, "image_class")) is not None:
        try:
            image_class = ImageClass(class_name.lower())
        except ValueError:
            known = ", ".join(c.value for c in ImageClass)
            raise LabOptionsError(
                f"Unknown image class {class_name!r}; use one of {known}"
            ) from None
        image = catalog.by_class(image_class)
        if image is None:
            raise LabOptionsError(f"No {image_class.value} image is configured")
        return image
    if (tag := _single(form, "image_tag")) is not None:
        image = catalog.by_tag(tag)
        if image is None:
            known = ", ".join(i.tag for i in catalog.images)
            raise LabOptionsError(f"No image has tag {tag!r}; known tags: {known}")
        return image
    recommended = catalog.by_class(ImageClass.RECOMMENDED)
    assert recommended is not None  # checked by the catalog
    return recommended


def parse_options(
    form: Mapping[str, Any], images: ImageCatalog, sizes: SizeCatalog
) -> LabOptions:
    """Check the spawn form (or API ``user_options``) against configuration.

    Parameters
    ----------
    form
        Field name -> value or list of values (as JupyterHub passes a form).
    images
        The configured images.
    sizes
        The configured sizes.

    Raises
    ------
    LabOptionsError
        If an image, size or flag is not one the platform offers.
    """
    image = _image(form, images)
    size_name = _single(form, "size")
    if size_name is None:
        size = sizes.get(sizes.default)
    else:
        size = sizes.get(size_name)
        if size is None:
            known = ", ".join(s.name for s in sizes.sizes)
            raise LabOptionsError(f"Unknown size {size_name!r}; choose one of {known}")
    assert size is not None
    return LabOptions(
        image=image,
        size=size,
        enable_debug=_flag(form, "enable_debug"),
        reset_user_env=_flag(form, "reset_user_env"),
    )
