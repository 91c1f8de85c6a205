"""What the gateway learns about a user from GitHub."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["GitHubEmail", "GitHubTeam", "GitHubUserInfo"]


class GitHubTeam(BaseModel):
    """A team of a GitHub organisation the user belongs to."""

    model_config = ConfigDict(frozen=True)

    organization: str
    """Login of the organisation (``lsst-sqre``)."""

    slug: str
    """URL-safe name of the team (``square``)."""

    id: int
    """GitHub's numeric id of the team; it becomes the group's GID."""

    @property
    def group_name(self) -> str:
        """The platform's name of the group: ``<org>-<team>``."""
        return f"{self.organization}-{self.slug}"


class GitHubEmail(BaseModel):
    """One of the user's email addresses."""

    model_config = ConfigDict(frozen=True)

    email: str
    primary: bool = False
    verified: bool = False


class GitHubUserInfo(BaseModel):
    """The user, their email addresses and teams, as GitHub reports them."""

    login: str
    """GitHub login, as GitHub spells it (may have capitals)."""

    id: int
    """GitHub's numeric user id; it becomes the UID."""

    name: str | None = None
    """Display name, if set."""

    public_email: str | None = None
    """The public email of the profile, if any."""

    emails: list[GitHubEmail] = []
    """Every address of the account (needs the ``user:email`` scope)."""

    teams: list[GitHubTeam] = []
    """Teams across the user's organisations (needs ``read:org``)."""
