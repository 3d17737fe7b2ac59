"""Configuration from environment variables, with safe defaults for a local machine.

Production (``GIVING_ENV=production``) refuses to start with a development secret, so a
forgotten variable fails loudly instead of signing sessions with a key that is in the repo,
and with rate limits counted in each process's memory, which multiplies every limit by the
number of workers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from giving.errors import ConfigError
from giving.orgids import is_org_id

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused in production
DEV_WEBHOOK_SECRET = "whsec_dev_sandbox_secret"  # noqa: S105 - refused in production
# Counts kept in one process's memory: fine for one development server, refused in
# production, where each worker would count separately.
PER_PROCESS_LIMIT_STORE = "memory://"

# The publisher in IATI exports. The default is shaped like the IATI standard's own example
# identifier ("AA-AAA-…": no registration agency has that prefix), so nobody mistakes it for a
# real one. Production does not refuse it, unlike a development secret: it puts no one at
# risk, and an operator not yet registered with IATI still owes auditors the export. Instead
# every export made with it says, in the file, that it must not go to the IATI Registry.
DEV_IATI_ORG_REF = "AA-AAA-GIVING-DEV"
# The ledger's name (its C2SP checkpoint origin and key name) when GIVING_LEDGER_ORIGIN is not
# set. A log's origin is its identity, so it never follows GIVING_PUBLIC_URL: moving the site
# must not rename the log. Deployments set their own once, e.g. giving.example.org/ledger.
DEFAULT_LEDGER_ORIGIN = "giving.local/ledger"
# IATI OrganisationType codelist (2.03): 10 government, 11 local government, 15 other public
# sector, 21 international NGO, 22 national NGO, 23 regional NGO, 24 partner-country-based
# NGO, 30 public-private partnership, 40 multilateral, 60 foundation, 70-73 private sector,
# 80 academic, training and research, 90 other.
IATI_ORGANISATION_TYPES = frozenset(
    ("10", "11", "15", "21", "22", "23", "24", "30", "40", "60", "70", "71", "72", "73", "80", "90")
)


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from the environment, resolved once at start-up."""

    env: str
    instance_path: Path
    database_url: str
    secret_key: str
    redis_url: str | None
    stripe_secret_key: str | None
    stripe_webhook_secret: str
    stripe_api_base: str | None
    signing_key_path: Path
    storage: str
    public_base_url: str
    suppression_threshold: int
    ledger_origin: str = DEFAULT_LEDGER_ORIGIN
    data_key: str | None = None
    # Where rate-limit counts live (a flask-limiter storage URI): RATELIMIT_STORAGE_URI, else
    # REDIS_URL, else this process's memory.
    rate_limit_storage: str = PER_PROCESS_LIMIT_STORE
    iati_org_ref: str = DEV_IATI_ORG_REF
    iati_org_name: str = "Giving"
    iati_org_type: str = "90"
    # Public pages: how long a shared cache may serve them fresh, then stale while it refetches.
    page_max_age: int = 30
    page_stale_while_revalidate: int = 300
    # Shareable pages kept in each worker's memory this long (giving/page_cache.py); 0 = off.
    page_cache_seconds: int = 5
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def rate_limits_per_process(self) -> bool:
        """Whether each process counts rate limits on its own (no shared store)."""
        return is_per_process_store(self.rate_limit_storage)

    @property
    def iati_org_is_placeholder(self) -> bool:
        """Whether exports still name the development publisher rather than a registered one."""
        return self.iati_org_ref == DEV_IATI_ORG_REF


def default_instance_path() -> Path:
    return Path(os.environ.get("GIVING_INSTANCE", Path.cwd() / "instance")).resolve()


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) and validate them."""
    env_vars = dict(os.environ if environ is None else environ)
    env = env_vars.get("GIVING_ENV", "development")
    instance_path = Path(env_vars.get("GIVING_INSTANCE", default_instance_path())).resolve()
    database_url = env_vars.get("DATABASE_URL") or f"sqlite:///{instance_path / 'giving.db'}"
    settings = Settings(
        env=env,
        instance_path=instance_path,
        database_url=normalise_database_url(database_url),
        secret_key=env_vars.get("SECRET_KEY", DEV_SECRET_KEY),
        redis_url=env_vars.get("REDIS_URL") or None,
        stripe_secret_key=env_vars.get("STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=env_vars.get("STRIPE_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
        stripe_api_base=env_vars.get("STRIPE_API_BASE") or None,
        signing_key_path=Path(
            env_vars.get("GIVING_SIGNING_KEY", instance_path / "signing-key.pem")
        ),
        storage=env_vars.get("GIVING_STORAGE", str(instance_path / "files")),
        public_base_url=env_vars.get("GIVING_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        suppression_threshold=_parse_threshold(env_vars.get("GIVING_SUPPRESSION_THRESHOLD")),
        ledger_origin=check_ledger_origin(
            env_vars.get("GIVING_LEDGER_ORIGIN", "").strip() or DEFAULT_LEDGER_ORIGIN
        ),
        data_key=env_vars.get("GIVING_DATA_KEY") or None,
        rate_limit_storage=(
            env_vars.get("RATELIMIT_STORAGE_URI", "").strip()
            or env_vars.get("REDIS_URL")
            or PER_PROCESS_LIMIT_STORE
        ),
        iati_org_ref=check_iati_org_ref(
            env_vars.get("GIVING_IATI_ORG_REF", "").strip() or DEV_IATI_ORG_REF
        ),
        iati_org_name=env_vars.get("GIVING_IATI_ORG_NAME", "").strip() or "Giving",
        iati_org_type=_parse_iati_org_type(env_vars.get("GIVING_IATI_ORG_TYPE")),
        page_max_age=_parse_seconds(env_vars, "GIVING_PAGE_MAX_AGE", 30),
        page_stale_while_revalidate=_parse_seconds(
            env_vars, "GIVING_PAGE_STALE_WHILE_REVALIDATE", 300
        ),
        page_cache_seconds=_parse_seconds(env_vars, "GIVING_PAGE_CACHE_SECONDS", 5),
    )
    if settings.is_production:
        _refuse_development_secrets(settings)
    return settings


def is_per_process_store(storage_uri: str) -> bool:
    """Whether a flask-limiter storage URI keeps its counts in the process's own memory."""
    return storage_uri.strip().lower().startswith(PER_PROCESS_LIMIT_STORE)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgres://`` URLs, as hosting platforms hand them out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _parse_threshold(raw: str | None) -> int:
    if raw is None or raw == "":
        return 10
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(
            f"GIVING_SUPPRESSION_THRESHOLD must be a whole number, not {raw!r}"
        ) from exc
    if value < 5:
        raise ConfigError("GIVING_SUPPRESSION_THRESHOLD may not be below 5 (children's privacy)")
    return value


def _parse_seconds(env_vars: dict[str, str], name: str, default: int) -> int:
    raw = env_vars.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number of seconds, not {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} may not be negative")
    return value


def check_ledger_origin(origin: str) -> str:
    """``origin`` if it can name the log in checkpoints: it is also the signing key's name in
    C2SP signed notes, so one line without spaces or '+'."""
    if any(ch.isspace() or ch == "+" or ord(ch) < 0x20 for ch in origin):
        raise ConfigError(
            "GIVING_LEDGER_ORIGIN must be a name without spaces or '+', conventionally a host "
            f"and path such as giving.example.org/ledger, not {origin!r}"
        )
    return origin


def check_iati_org_ref(ref: str) -> str:
    """``ref`` if it has the shape of an org-id.guide identifier, else a ConfigError that says
    what was expected (the IATI Registry rejects anything else, and every activity id starts
    with it)."""
    if not is_org_id(ref):
        raise ConfigError(
            f"GIVING_IATI_ORG_REF must be an organisation identifier "
            f"'<registration agency>-<registration number>' as listed on org-id.guide, such as "
            f"CN-USC-<unified social credit code> or GB-CHC-<charity number> (agency in "
            f"capitals; then letters, digits, '-', '_', ':' or '.'; a CN-USC code with its "
            f"check character), not {ref!r}"
        )
    return ref


def _parse_iati_org_type(raw: str | None) -> str:
    value = (raw or "").strip() or "90"
    if value not in IATI_ORGANISATION_TYPES:
        raise ConfigError(
            f"GIVING_IATI_ORG_TYPE must be a code from the IATI OrganisationType codelist "
            f"(e.g. 22 national NGO, 21 international NGO, 60 foundation, 90 other), "
            f"not {raw!r}"
        )
    return value


def _refuse_development_secrets(settings: Settings) -> None:
    if settings.secret_key == DEV_SECRET_KEY or len(settings.secret_key) < 32:
        raise ConfigError("Production needs SECRET_KEY set to a random value of 32+ characters")
    if settings.stripe_webhook_secret == DEV_WEBHOOK_SECRET and settings.stripe_secret_key:
        raise ConfigError("Production with Stripe needs STRIPE_WEBHOOK_SECRET from the dashboard")
    if settings.database_url.startswith("sqlite"):
        raise ConfigError("Production needs DATABASE_URL pointing at PostgreSQL")
    if settings.rate_limits_per_process:
        raise ConfigError(
            "Production needs a rate-limit store shared by every worker: set REDIS_URL (or "
            "RATELIMIT_STORAGE_URI to a redis:// or memcached:// URI). With memory:// each "
            "worker counts on its own, so every limit is multiplied by the number of workers"
        )
    # Imported here: the crypto module reads settings itself, so a top-level import would cycle.
    from giving.impact.crypto import require_data_key_in_production

    require_data_key_in_production({"GIVING_DATA_KEY": settings.data_key or ""}, is_production=True)
