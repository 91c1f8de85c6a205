"""Job store: UWS jobs and their inline uploads.

Revision ID: 0001_job_store
Revises:
Create Date: 2026-11-24

Written by hand and checked against the models by the test suite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_job_store"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "tap_uws"
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {_SCHEMA}")
    op.create_table(
        "job",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("creation_time", _TIME, nullable=False),
        sa.Column("start_time", _TIME, nullable=True),
        sa.Column("end_time", _TIME, nullable=True),
        sa.Column("execution_duration", sa.Integer(), nullable=False),
        sa.Column("destruction_time", _TIME, nullable=False),
        sa.Column("quote", _TIME, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_transient", sa.Boolean(), nullable=False),
        sa.Column("result_key", sa.String(256), nullable=True),
        sa.Column("result_mime_type", sa.String(128), nullable=True),
        sa.Column("result_size", sa.BigInteger(), nullable=True),
        sa.Column("result_rows", sa.BigInteger(), nullable=True),
        sa.Column("result_overflow", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job"),
        schema=_SCHEMA,
    )
    op.create_index(
        "ix_job_owner_creation_time", "job", ["owner", "creation_time"], schema=_SCHEMA
    )
    op.create_index(
        "ix_job_owner_phase_creation_time",
        "job",
        ["owner", "phase", "creation_time"],
        schema=_SCHEMA,
    )
    op.create_index("ix_job_phase", "job", ["phase"], schema=_SCHEMA)
    op.create_index(
        "ix_job_destruction_time", "job", ["destruction_time"], schema=_SCHEMA
    )
    op.create_table(
        "job_upload",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "name", name="pk_job_upload"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            [f"{_SCHEMA}.job.id"],
            name="fk_job_upload_job_id_job",
            ondelete="CASCADE",
        ),
        schema=_SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("job_upload", schema=_SCHEMA)
    op.drop_table("job", schema=_SCHEMA)

