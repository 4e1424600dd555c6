"""Customer-base prediction: BG/NBD churn and purchases, Gamma-Gamma value, RFM segments.

summary: purchases -> (x, t_x, T, m); bgnbd, gamma_gamma: likelihoods, fits, predictions;
rfm: scores and segments; scoring: per-member predictions and reasons; report: `loyalty
model`; simulate: synthetic members drawn from the models, for tests.
"""

from core.prediction.bgnbd import BgNbd, BgNbdFit, fit_bgnbd
from core.prediction.gamma_gamma import GammaGamma, GammaGammaFit, fit_gamma_gamma
from core.prediction.holdout import (
    HoldoutGroup,
    HoldoutValidation,
    predicted_cohort_purchases,
    validate_holdout,
)
from core.prediction.member_scores import (
    NotEnoughPurchases,
    ScoringRun,
    score_members,
    score_members_job,
)
from core.prediction.pareto_nbd import ParetoNbd, ParetoNbdFit, fit_pareto_nbd
from core.prediction.report import FittedModels, fit_models, model_report
from core.prediction.rfm import SEGMENTS, RfmScores, quintile_scores, rfm_scores, segment_for
from core.prediction.scoring import (
    MemberPredictions,
    expected_lifetime_value,
    explain,
    predict,
    rfm_from_summary,
    segment_summary,
)
from core.prediction.summary import PurchaseSummary, TimeUnit, choose_time_unit, summarise

__all__ = [
    "NotEnoughPurchases",
    "ScoringRun",
    "score_members",
    "score_members_job",
    "SEGMENTS",
    "BgNbd",
    "BgNbdFit",
    "FittedModels",
    "GammaGamma",
    "GammaGammaFit",
    "MemberPredictions",
    "PurchaseSummary",
    "RfmScores",
    "TimeUnit",
    "choose_time_unit",
    "expected_lifetime_value",
    "explain",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_models",
    "model_report",
    "predict",
    "quintile_scores",
    "rfm_from_summary",
    "rfm_scores",
    "segment_for",
    "segment_summary",
    "summarise",
    "HoldoutGroup",
    "HoldoutValidation",
    "ParetoNbd",
    "ParetoNbdFit",
    "fit_pareto_nbd",
    "predicted_cohort_purchases",
    "validate_holdout",
]
