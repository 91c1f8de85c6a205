"""Initial schema: tokens and their change history.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24

Written by hand and checked against the models by the test suite
(``compare_metadata`` finds no difference on PostgreSQL and SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "token",
        sa.Column("key", sa.String(22), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("token_type", sa.String(16), nullable=False),
        sa.Column("token_name", sa.String(64), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("created", _TIME, nullable=False),
        sa.Column("last_used", _TIME, nullable=True),
        sa.Column("expires", _TIME, nullable=True),
        sa.Column("parent", sa.String(22), nullable=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("email", sa.String(256), nullable=True),
        sa.Column("uid", sa.Integer(), nullable=True),
        sa.Column("gid", sa.Integer(), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_token"),
        sa.ForeignKeyConstraint(
            ["parent"], ["token.key"], name="fk_token_parent_token", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("username", "token_name", name="uq_token_username_token_name"),
    )
    op.create_index("ix_token_parent", "token", ["parent"])
    op.create_index("ix_token_username", "token", ["username"])
    op.create_index("ix_token_expires", "token", ["expires"])

    op.create_table(
        "token_change_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token", sa.String(22), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("token_type", sa.String(16), nullable=False),
        sa.Column("token_name", sa.String(64), nullable=True),
        sa.Column("parent", sa.String(22), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("expires", _TIME, nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("old_token_name", sa.String(64), nullable=True),
        sa.Column("old_scopes", sa.JSON(), nullable=True),
        sa.Column("old_expires", _TIME, nullable=True),
        sa.Column(
            "ip_address",
            sa.String(64).with_variant(postgresql.INET(), "postgresql"),
            nullable=True,
        ),
        sa.Column("event_time", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_token_change_history"),
    )
    op.create_index(
        "ix_token_change_history_event_time_id",
        "token_change_history",
        ["event_time", "id"],
    )
    op.create_index(
        "ix_token_change_history_username_event_time_id",
        "token_change_history",
        ["username", "event_time", "id"],
    )
    op.create_index(
        "ix_token_change_history_token_event_time_id",
        "token_change_history",
        ["token", "event_time", "id"],
    )


def downgrade() -> None:
    op.drop_table("token_change_history")
    op.drop_table("token")
