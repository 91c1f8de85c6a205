"""How long each step of building a catalog table took (loads and projections)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TableLoad"]


@dataclass(slots=True)
class TableLoad:
    """What loading one table took."""

    table: str
    rows: int = 0
    copy_seconds: float = 0.0
    index_seconds: float = 0.0
    cluster_seconds: float = 0.0
    analyze_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Total time spent on the table."""
        return (
            self.copy_seconds
            + self.index_seconds
            + self.cluster_seconds
            + self.analyze_seconds
        )
