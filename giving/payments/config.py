"""Payment settings, resolved once per app from the environment and Flask config overrides.

Without ``STRIPE_SECRET_KEY`` the sandbox provider takes payments. Because the sandbox lets
anyone "pay" without money, production refuses it unless ``GIVING_SANDBOX_PAYMENTS=1`` says
the deployment is a public demo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from giving.config import Settings
from giving.errors import ConfigError

Provider = Literal["stripe", "sandbox"]
JobMode = Literal["inline", "rq"]

MAX_PLATFORM_FEE_BPS = 2_000  # 20 %: anything above is a typo, not a policy.


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
    settings: Settings,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PaymentsConfig:
    """Combine ``Settings`` (environment) with Flask config keys of the same names (tests)."""
    over = dict(overrides or {})
    env = os.environ if environ is None else environ
    secret_key = over.get("STRIPE_SECRET_KEY", settings.stripe_secret_key) or None
    redis_url = over.get("REDIS_URL", settings.redis_url) or None
    jobs_text = over.get("PAYMENTS_JOBS") or ("rq" if redis_url else "inline")
    if jobs_text not in ("inline", "rq"):
        raise ConfigError(f"PAYMENTS_JOBS must be 'inline' or 'rq', not {jobs_text!r}")
    jobs: JobMode = "rq" if jobs_text == "rq" else "inline"
    fee_raw = over.get("PLATFORM_FEE_BPS", env.get("GIVING_PLATFORM_FEE_BPS", "0"))
    try:
        fee_bps = int(fee_raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"GIVING_PLATFORM_FEE_BPS must be whole basis points, not {fee_raw!r}"
        ) from exc
    if not 0 <= fee_bps <= MAX_PLATFORM_FEE_BPS:
        raise ConfigError(f"GIVING_PLATFORM_FEE_BPS must be between 0 and {MAX_PLATFORM_FEE_BPS}")
    sandbox_default = not settings.is_production
    sandbox_allowed = over.get(
        "SANDBOX_PAYMENTS", env.get("GIVING_SANDBOX_PAYMENTS", "1" if sandbox_default else "0")
    ) in (True, "1", "true", "yes")
    return PaymentsConfig(
        stripe_secret_key=secret_key,
        stripe_api_base=over.get("STRIPE_API_BASE", settings.stripe_api_base) or None,
        webhook_secret=over.get("STRIPE_WEBHOOK_SECRET", settings.stripe_webhook_secret),
        platform_fee_bps=fee_bps,
        redis_url=redis_url,
        jobs=jobs,
        sandbox_allowed=sandbox_allowed,
        stripe_max_retries=int(over.get("STRIPE_MAX_RETRIES", 2)),
        queue_name=str(over.get("PAYMENTS_QUEUE", "giving-webhooks")),
    )
