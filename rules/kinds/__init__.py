"""Rule kinds, registered by name. Importing this package registers every built-in kind."""

from rules.kinds import aggregate, enterprise, parcel  # noqa: E402,F401  (registration side effects)
from rules.kinds.base import KINDS, KindSpec, Outcome, register

__all__ = ["KINDS", "KindSpec", "Outcome", "register"]
