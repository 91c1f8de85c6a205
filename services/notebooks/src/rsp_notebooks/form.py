"""The spawn form's HTML, shown by JupyterHub at ``/nb/hub/spawn``.

JupyterHub wraps it in its own ``<form>`` with the XSRF field and a start
button; the fields are those :func:`rsp_notebooks.options.parse_options`
reads.
"""

from __future__ import annotations

from html import escape

from .options import DROPDOWN_SENTINEL, ImageCatalog, SizeCatalog

__all__ = ["render_options_form"]


def _radio(name: str, value: str, label: str, *, checked: bool) -> str:
    mark = " checked" if checked else ""
    ident = escape(f"{name}-{value}", quote=True)
    return (
        f'<div class="radio"><label for="{ident}">'
        f'<input type="radio" name="{escape(name)}" id="{ident}"'
        f' value="{escape(value, quote=True)}"{mark}> {escape(label)}</label></div>'
    )


def _checkbox(name: str, label: str) -> str:
    return (
        f'<div class="checkbox"><label for="{name}">'
        f'<input type="checkbox" name="{name}" id="{name}" value="true">'
        f" {escape(label)}</label></div>"
    )


def render_options_form(images: ImageCatalog, sizes: SizeCatalog) -> str:
    """The HTML fields of the spawn form: image menu and dropdown, size, flags."""
    parts = ['<div class="rsp-spawn-options">', "<fieldset><legend>Image</legend>"]
    for index, (image_class, image) in enumerate(images.menu()):
        label = f"{image_class.label}: {image.display_name}"
        parts.append(_radio("image_list", image.reference, label, checked=index == 0))
    parts.append(
        _radio("image_list", DROPDOWN_SENTINEL, "Another image:", checked=False)
    )
    parts.append('<select name="image_dropdown" aria-label="Another image">')
    for image in images.dropdown():
        parts.append(
            f'<option value="{escape(image.reference, quote=True)}">'
            f"{escape(image.display_name)}</option>"
        )
    parts.append("</select></fieldset>")
    parts.append("<fieldset><legend>Size</legend>")
    for size in sizes.sizes:
        parts.append(
            _radio(
                "size", size.name, size.description, checked=size.name == sizes.default
            )
        )
    parts.append("</fieldset><fieldset><legend>Options</legend>")
    parts.append(_checkbox("enable_debug", "Enable debug logs"))
    parts.append(
        _checkbox(
            "reset_user_env", "Reset user environment (moves .local, .cache aside)"
        )
    )
    parts.append("</fieldset></div>")
    return "\n".join(parts)
