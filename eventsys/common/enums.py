"""``LabelledEnum``: a string enum whose members carry their translatable label next to their value.

    class Mode(LabelledEnum):
        IN_PERSON = "in_person", _l("In person")
        ONLINE = "online", _l("Online")

    Mode.ONLINE.value == "online"        # what the database stores (unchanged by the label)
    Mode.ONLINE.label == "Online"        # translated into the current locale when read
    Mode.labels() == {Mode.IN_PERSON: _l("In person"), Mode.ONLINE: _l("Online")}   # lazy, for form choices

A member without a label is refused when the class is defined, so no member can miss one.
"""

from __future__ import annotations

import enum
from typing import Any, Self

__all__ = ["LabelledEnum"]


class LabelledEnum(enum.StrEnum):
    """A ``StrEnum`` whose members are written ``NAME = "value", _l("Label")``."""

    _label: Any

    def __new__(cls, value: str, label: Any = None) -> Self:
        if label is None:
            raise TypeError(f"{cls.__name__} member {value!r} needs a label: NAME = {value!r}, _l('Label')")
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        """The label in the current locale."""
        return str(self._label)

    @classmethod
    def labels(cls) -> dict[Self, Any]:
        """Every member with its lazy label, in definition order (e.g. for a form's choices)."""
        return {member: member._label for member in cls}
