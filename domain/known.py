"""What to say when something asked for is not known: never something false.

As known at an earlier moment, a patient enrolled since was *not yet enrolled*, not unknown. To
an actor who may not see something, "not recorded" may be false and "not yours" would tell that
it exists: it is "not found, or not yours" (ADR 0016 answers 404 either way).
"""

from __future__ import annotations

from domain import errors as err


def patient_not_known(patient_id: str, *, enrolled_at: int | None, position: int,
                      moment: str | None = None) -> err.NotFound:
    """The refusal for a patient not known at log `position`: enrolled at a later position
    (`enrolled_at`) means not yet enrolled then; never enrolled means unknown."""
    if enrolled_at is not None and enrolled_at > position:
        return err.NotYetEnrolled(patient_id, position, moment, enrolled_at)
    return err.UnknownPatient(patient_id)


def not_found_or_not_yours(what: str, identifier: str, organisation: str) -> err.NotFound:
    return err.NotFoundOrNotYours(what, identifier, f"you see {organisation}'s")
