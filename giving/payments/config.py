"""Payment settings, resolved once per app from ``Settings`` and Flask config overrides.

Without ``STRIPE_SECRET_KEY`` the sandbox provider takes payments. Because the sandbox lets
anyone "pay" without money, production refuses it unless ``GIVING_SANDBOX_PAYMENTS=1`` says
the deployment is a public demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from giving.config import (
    MAX_PLATFORM_FEE_BPS,
    JobMode,
    Settings,
    parse_job_mode,
    parse_platform_fee,
)

__all__ = ["MAX_PLATFORM_FEE_BPS", "JobMode", "PaymentsConfig", "Provider", "payments_config"]

Provider = Literal["stripe", "sandbox"]


@dataclass(frozen=True)
class PaymentsConfig:
    """What the payment code needs to know about its environment."""

    stripe_secret_key: str | None
    stripe_api_base: str | None
    webhook_secret: str
    platform_fee_bps: int
    redis_url: str | None
    jobs: JobMode
    sandbox_allowed: bool
    stripe_max_retries: int = 2
    queue_name: str = "giving-webhooks"

    @property
    def provider(self) -> Provider:
        return "stripe" if self.stripe_secret_key else "sandbox"

    @property
    def accepts_donations(self) -> bool:
        return self.provider == "stripe" or self.sandbox_allowed


def payments_config(
    settings: Settings, overrides: Mapping[str, Any] | None = None
) -> PaymentsConfig:
    """The payment view of ``Settings``, with Flask config keys of the same names on top
    (tests set them); nothing here reads the environment (giving/config.py does)."""
    over = dict(overrides or {})
    secret_key = over.get("STRIPE_SECRET_KEY", settings.stripe_secret_key) or None
    redis_url = over.get("REDIS_URL", settings.redis_url) or None
    jobs = parse_job_mode(over.get("PAYMENTS_JOBS")) or settings.payments_jobs
    if jobs is None:
        jobs = "rq" if redis_url else "inline"
    fee_bps = (
        parse_platform_fee(str(over["PLATFORM_FEE_BPS"]))
        if "PLATFORM_FEE_BPS" in over
        else settings.platform_fee_bps
    )
    sandbox = over.get("SANDBOX_PAYMENTS", settings.sandbox_payments)
    return PaymentsConfig(
        stripe_secret_key=secret_key,
        stripe_api_base=over.get("STRIPE_API_BASE", settings.stripe_api_base) or None,
        webhook_secret=over.get("STRIPE_WEBHOOK_SECRET", settings.stripe_webhook_secret),
        platform_fee_bps=fee_bps,
        redis_url=redis_url,
        jobs=jobs,
        sandbox_allowed=sandbox in (True, "1", "true", "yes"),
        stripe_max_retries=int(over.get("STRIPE_MAX_RETRIES", 2)),
        queue_name=str(over.get("PAYMENTS_QUEUE", "giving-webhooks")),
    )
