"""Who may open the officers' page, and who they are: one shared token or one token per officer.

* No token (loopback only): the page is open; an officer types a name when acknowledging.
* ``overlay.token``: one shared token; names are still typed on the page (unverified).
* ``overlay.officers`` (``{name: token}``): one token per officer; every request carrying an
  officer's token is that officer, and an acknowledgement is recorded under that name
  (``verified``). The shared token, when also set, still opens the page.

:meth:`OfficerAccess.identify` is the only place that maps a token to an officer;
the web app asks it through :func:`groundstation.overlay.app.officer_for`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from missions.errors import ConfigError

MIN_TOKEN_LEN = 8


@dataclass(frozen=True)
class Officer:
    """Who made a request.

    Attributes:
        name: The officer's name (from ``overlay.officers``), or None for the shared token or an
            open page (the name is then typed on the page).
        verified: True when ``name`` comes from the officer's own token.
    """

    name: str | None
    verified: bool


ANONYMOUS = Officer(None, False)


class OfficerAccess:
    """Tokens and the officers they name.

    Args:
        token: The shared token, or None.
        officers: ``{name: token}``, one token per officer, or None.

    Raises:
        ConfigError: An officer's token is shorter than 8 characters, or two officers share one.
    """

    def __init__(self, token: str | None = None, officers: dict[str, str] | None = None) -> None:
        self.token = token or None
        self.officers = dict(officers or {})
        seen: dict[str, str] = {}
        for name, tok in self.officers.items():
            if not name.strip():
                raise ConfigError("overlay.officers: an officer's name is empty")
            if len(tok) < MIN_TOKEN_LEN:
                raise ConfigError(
                    f"overlay.officers.{name}: token too short ({len(tok)} characters), "
                    f"use at least {MIN_TOKEN_LEN}"
                )
            if tok in seen or tok == self.token:
                other = seen.get(tok, "overlay.token")
                raise ConfigError(f"overlay.officers.{name}: same token as {other}")
            seen[tok] = name

    @property
    def required(self) -> bool:
        """True when requests must carry a token."""
        return bool(self.token or self.officers)

    def identify(self, given: str | None) -> Officer | None:
        """The officer a presented token names; None when it opens nothing.

        Args:
            given: The token presented (query, bearer header or cookie), or None.

        Returns:
            :class:`Officer` (``ANONYMOUS`` on an open page or for the shared token), or None
            when a token is required and ``given`` is missing or wrong.
        """
        if not self.required:
            return ANONYMOUS
        if not given:
            return None
        found = None
        for name, tok in self.officers.items():  # compare with every token: constant time
            if hmac.compare_digest(given.encode(), tok.encode()):
                found = Officer(name, True)
        if found is not None:
            return found
        if self.token and hmac.compare_digest(given.encode(), self.token.encode()):
            return ANONYMOUS
        return None
