"""The spawn form's options: images, sizes and flags, checked against configuration."""

from __future__ import annotations

from typing import Any

import pytest
from nbtest.catalogs import IMAGES, image_catalog, size_catalog
from rsp_notebooks.form import render_options_form
from rsp_notebooks.options import (
    DROPDOWN_SENTINEL,
    ImageCatalog,
    LabOptionsError,
    SizeCatalog,
    parse_memory,
    parse_options,
)
from rsp_notebooks.spawning import DEFAULT_SIZES


def parse(form: dict[str, Any]) -> Any:
    return parse_options(form, image_catalog(), size_catalog())


def test_no_choice_is_the_recommended_image_and_default_size() -> None:
    options = parse({})
    assert options.image.tag == "r29.2.0"
    assert options.size.name == "medium"
    assert not options.enable_debug
    assert not options.reset_user_env


@pytest.mark.parametrize(
    ("image_class", "tag"),
    [
        ("recommended", "r29.2.0"),
        ("latest-release", "r29.2.0"),
        ("latest-weekly", "w_2026_46"),
        ("latest-daily", "d_2026_11_20"),
        ("LATEST-WEEKLY", "w_2026_46"),
    ],
)
def test_image_class(image_class: str, tag: str) -> None:
    assert parse({"image_class": [image_class]}).image.tag == tag


def test_image_by_tag_and_by_reference_from_menu_or_dropdown() -> None:
    assert parse({"image_tag": "w_2026_40"}).image.tag == "w_2026_40"
    assert parse({"image_list": ["ghcr.io/rsp/lab:w_2026_46"]}).image.tag == "w_2026_46"
    dropdown = {
        "image_list": [DROPDOWN_SENTINEL],
        "image_dropdown": ["ghcr.io/rsp/lab:w_2026_40"],
    }
    assert parse(dropdown).image.tag == "w_2026_40"
    assert parse({"image_dropdown": "ghcr.io/rsp/lab:w_2026_40"}).image.tag == (
        "w_2026_40"
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"image_list": "docker.io/evil/miner:latest"}, "not offered here"),
        ({"image_list": DROPDOWN_SENTINEL}, "Choose an image"),
        ({"image_class": "latest-nightly"}, "Unknown image class 'latest-nightly'"),
        ({"image_tag": "w_1999_01"}, "No image has tag 'w_1999_01'"),
        ({"size": "Gargantuan"}, "Unknown size 'Gargantuan'; choose one of small"),
        ({"enable_debug": "maybe"}, "enable_debug must be true or false"),
    ],
)
def test_refusals_say_what_to_do(form: dict[str, Any], message: str) -> None:
    with pytest.raises(LabOptionsError, match=message):
        parse(form)


def test_sizes_in_any_case_and_flags() -> None:
    # rubin-nublado-client posts sizes capitalized and flags as "true".
    options = parse({"size": "Large", "enable_debug": "true", "reset_user_env": ["on"]})
    assert options.size.name == "large"
    assert options.size.cpu_limit == 4.0
    assert options.size.memory_limit_bytes == 16 * 2**30
    assert options.enable_debug
    assert options.reset_user_env
    assert parse({"enable_debug": False}).enable_debug is False


def test_user_options_round_trip() -> None:
    options = parse({"image_class": "latest-daily", "size": "small"})
    again = parse(options.to_user_options())
    assert again == options


def test_class_without_configured_image() -> None:
    catalog = ImageCatalog.from_config(
        {"images": IMAGES["images"][:1], "classes": {"recommended": "r29.2.0"}}
    )
    with pytest.raises(LabOptionsError, match="No latest-weekly image"):
        parse_options({"image_class": "latest-weekly"}, catalog, size_catalog())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"images": [], "classes": {}}, "at least 1"),
        (
            {"images": IMAGES["images"], "classes": {"recommended": "nope"}},
            "unknown tag nope",
        ),
        ({"images": IMAGES["images"], "classes": {}}, "recommended image"),
        (
            {"images": IMAGES["images"] * 2, "classes": {"recommended": "r29.2.0"}},
            "unique",
        ),
        ({"images": IMAGES["images"], "unknown": 1}, "Extra inputs"),
    ],
)
def test_bad_image_catalogs_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImageCatalog.from_config(config)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="default size huge"):
        SizeCatalog.from_config(DEFAULT_SIZES, "huge")
    wrong = [{**DEFAULT_SIZES[0], "cpu_request": 8.0}]
    with pytest.raises(ValueError, match="cpu_request above cpu_limit"):
        SizeCatalog.from_config(wrong, "small")
    wrong = [{**DEFAULT_SIZES[0], "memory_request": "64Gi"}]
    with pytest.raises(ValueError, match="memory_request above memory_limit"):
        SizeCatalog.from_config(wrong, "small")


def test_memory_quantities() -> None:
    assert parse_memory("4Gi") == 4 * 2**30
    assert parse_memory("512M") == 512 * 10**6
    assert parse_memory("1.5Gi") == int(1.5 * 2**30)
    assert parse_memory(1024) == 1024
    with pytest.raises(ValueError, match="not a memory size"):
        parse_memory("lots")


def test_form_offers_every_class_image_and_size() -> None:
    html = render_options_form(image_catalog(), size_catalog())
    assert html.count('name="image_list"') == 5  # four classes + "another image"
    assert 'value="ghcr.io/rsp/lab:w_2026_46"' in html
    assert "Latest weekly: w_2026_46" in html
    assert html.count("<option ") == 4
    assert 'name="size" id="size-medium" value="medium" checked' in html
    assert "Large (4 CPUs, 16Gi memory)" in html
    assert 'name="enable_debug"' in html
    assert 'name="reset_user_env"' in html


def test_form_escapes_configured_names() -> None:
    catalog = ImageCatalog.from_config(
        {
            "images": [{"reference": "x/lab:1", "tag": "1", "name": "<b>new</b>"}],
            "classes": {"recommended": "1"},
        }
    )
    html = render_options_form(catalog, size_catalog())
    assert "<b>" not in html
    assert "&lt;b&gt;new&lt;/b&gt;" in html
