"""Keep the GitHub access token of each GitHub session, to refresh its groups.

Revision ID: 0002_github_credential
Revises: 0001_initial
Create Date: 2026-12-01

Written by hand and checked against the models by the test suite
(``compare_metadata`` finds no difference on PostgreSQL and SQLite).
Sessions that exist before this revision have no row: they keep the
groups of their login until they end.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_github_credential"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "github_credential",
        sa.Column("token", sa.String(22), nullable=False),
        sa.Column("encrypted_token", sa.Text(), nullable=False),
        sa.Column("refreshed", _TIME, nullable=False),
        sa.Column("claimed_until", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("token", name="pk_github_credential"),
        sa.ForeignKeyConstraint(
            ["token"],
            ["token.key"],
            name="fk_github_credential_token_token",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_github_credential_refreshed", "github_credential", ["refreshed"]
    )


def downgrade() -> None:
    op.drop_table("github_credential")
