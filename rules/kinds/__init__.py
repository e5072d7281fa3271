"""Rule kinds, registered by name. Importing this package registers every built-in kind."""

from rules.kinds.base import KINDS, KindSpec, Outcome, register

from rules.kinds import parcel, enterprise, aggregate  # noqa: E402,F401  (registration side effects)

__all__ = ["KINDS", "KindSpec", "Outcome", "register"]
