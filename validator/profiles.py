"""Recording-structure profiles: one per generation of the platform's model.

Durations come from the platform's documentation (see ../shared/spec/requirements.md):
phoenix-4 and phoenix-4.5 want 30 s speaking then 30 s listening; phoenix-3 (legacy) 60 + 60.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    speaking_s: float
    listening_s: float

    @property
    def total_s(self) -> float:
        return self.speaking_s + self.listening_s


PROFILES: dict[str, Profile] = {
    "phoenix-4": Profile("phoenix-4", 30.0, 30.0),
    "phoenix-4.5": Profile("phoenix-4.5", 30.0, 30.0),
    "phoenix-3": Profile("phoenix-3", 60.0, 60.0),
}
DEFAULT_PROFILE = "phoenix-4"
