"""Domain errors. Each has a stable code that dialogs and the API map to texts and statuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the programme refused the request; nothing was written."""

    code = "error"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class MemberNotFound(NotFound):
    code = "member.not_found"


class MemberErased(DomainError):
    code = "member.erased"


class ConsentRequired(DomainError):
    code = "member.consent_required"


class AlreadySignedUp(DomainError):
    code = "member.already_signed_up"


class MemberExists(DomainError):
    """A member already has that reference (the brand's own customer id)."""

    code = "member.exists"


class InsufficientPoints(DomainError):
    code = "points.insufficient"


class PurchaseNotFound(NotFound):
    code = "purchase.not_found"


class RefundExceedsPurchase(DomainError):
    code = "purchase.refund_exceeds"


class CouponNotFound(NotFound):
    code = "coupon.not_found"


class CouponUnavailable(DomainError):
    """Not active, not yet valid, or past its validity."""

    code = "coupon.unavailable"


class CouponOutOfStock(DomainError):
    code = "coupon.out_of_stock"


class CouponLimitReached(DomainError):
    code = "coupon.limit_reached"


class CouponNotEligible(DomainError):
    code = "coupon.not_eligible"


class CouponCodeUnknown(NotFound):
    code = "coupon.code_unknown"


class CouponAlreadyRedeemed(DomainError):
    code = "coupon.already_redeemed"


class CouponExpired(DomainError):
    code = "coupon.expired"


class CouponMinimumSpend(DomainError):
    code = "coupon.minimum_spend"


class SurveyNotFound(NotFound):
    code = "survey.not_found"


class SurveyAlreadyDone(DomainError):
    code = "survey.already_done"


class SurveyNotInProgress(DomainError):
    code = "survey.not_in_progress"


class InvalidAnswer(DomainError):
    code = "survey.invalid_answer"


class AnswerRequired(InvalidAnswer):
    """A required question cannot be skipped."""

    code = "survey.answer_required"


class AnswerOutOfOrder(InvalidAnswer):
    """An answer for a question the member has not reached yet."""

    code = "survey.answer_out_of_order"


class AlreadyCheckedIn(DomainError):
    code = "checkin.already"


class ReferralRejected(DomainError):
    code = "referral.rejected"


class CampaignNotFound(NotFound):
    code = "campaign.not_found"


class CampaignClosed(DomainError):
    """The campaign was cancelled (or has finished), so it cannot be launched or changed."""

    code = "campaign.closed"


class IdempotencyConflict(DomainError):
    """The same idempotency key was used before for a different request."""

    code = "idempotency.conflict"


class ConfigError(Exception):
    """The programme config file is invalid: names the file, the field and what is wrong."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = path
        self.field = field
        self.problem = problem
