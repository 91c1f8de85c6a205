"""What the TAP image needs at run time, checked in its clean environment.

``tests/images`` runs this with the Python of a virtual environment made
from ``uv.lock`` exactly as the image's build stage makes it (not editable,
no development dependencies), from a directory outside the source tree: the
packaged data must be there and the application must build.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Fail with a message if the installed TAP service is incomplete."""
    os.environ.update(
        {
            "RSP_TAP_DATABASE_URL": "postgresql+asyncpg://tap@db.invalid/tap",
            "RSP_TAP_QUERY_DATABASE_URL": "postgresql://reader@db.invalid/catalogs",
            "RSP_TAP_RESULT_STORAGE__TYPE": "local",
            "RSP_TAP_RESULT_STORAGE__PATH": os.path.join(os.environ["HOME"], "r"),
        }
    )
    from rsp_tap.adql import translate, warm_up  # noqa: PLC0415
    from rsp_tap.data.felis import load_catalog_schema  # noqa: PLC0415
    from rsp_tap.main import create_app  # noqa: PLC0415
    from rsp_tap.storage.database import head_revision  # noqa: PLC0415

    warm_up()  # the ADQL grammar file
    schema = load_catalog_schema()  # lsst-sdm-schemas' dp01_dc2.yaml
    names = {t.name for t in schema.tables}
    if not {"object", "truth_match", "position", "forced_photometry"} <= names:
        sys.exit(f"the catalog schema lacks tables: {sorted(names)}")
    query = translate("SELECT TOP 1 objectId FROM dp01_dc2_catalogs.object", schema)
    if '"objectId"' not in query.sql:
        sys.exit(f"unexpected translation: {query.sql}")
    print("job store revision", head_revision())  # the packaged migrations
    create_app()  # configuration from the environment; nothing connects yet
    print("ok")


if __name__ == "__main__":
    main()
