"""Configuration from environment variables, with safe defaults for a local machine.

This is the one place that reads the process environment: :func:`load_settings` turns it
into one typed, validated :class:`Settings`, once, at start-up, and everything else gets
that object (``create_app`` keeps it; views use ``giving.web.current_settings()``, commands
and jobs receive it). A plain frozen dataclass rather than pydantic-settings: every value
needs a hand-written check with a message that names the variable and says what to set
(the data key, the IATI org-id, the ledger origin), which is most of the code either way,
and it adds no dependency. README's configuration table lists every variable read here
(tests/test_settings.py keeps the two in step).

Production (``GIVING_ENV=production``) refuses to start with a development secret, so a
forgotten variable fails loudly instead of signing sessions with a key that is in the repo,
and with rate limits counted in each process's memory, which multiplies every limit by the
number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flask import Flask, current_app

from giving.errors import ConfigError
from giving.orgids import is_org_id

# The checkout (or installed tree) holding giving/, templates/ and static/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

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
# Children's records are encrypted with keys derived from this variable's secrets.
DATA_KEY_VAR = "GIVING_DATA_KEY"
MIN_PRODUCTION_SECRET_LENGTH = 32
MAX_PLATFORM_FEE_BPS = 2_000  # 20 %: anything above is a typo, not a policy.
JobMode = Literal["inline", "rq"]
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
    # Payments: the platform's fee on each gift, whether the no-money sandbox may take
    # payments (default: everywhere but production), and how webhook jobs run (None: on RQ
    # when REDIS_URL is set, else inline).
    platform_fee_bps: int = 0
    sandbox_payments: bool = True
    payments_jobs: JobMode | None = None
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
        platform_fee_bps=parse_platform_fee(env_vars.get("GIVING_PLATFORM_FEE_BPS", "")),
        sandbox_payments=_parse_flag(
            env_vars, "GIVING_SANDBOX_PAYMENTS", default=env != "production"
        ),
        payments_jobs=parse_job_mode(env_vars.get("PAYMENTS_JOBS", "")),
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


def parse_platform_fee(raw: str) -> int:
    """``GIVING_PLATFORM_FEE_BPS``: whole basis points from 0 to MAX_PLATFORM_FEE_BPS."""
    if raw.strip() == "":
        return 0
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(
            f"GIVING_PLATFORM_FEE_BPS must be whole basis points, not {raw!r}"
        ) from exc
    if not 0 <= value <= MAX_PLATFORM_FEE_BPS:
        raise ConfigError(f"GIVING_PLATFORM_FEE_BPS must be between 0 and {MAX_PLATFORM_FEE_BPS}")
    return value


def parse_job_mode(raw: object) -> JobMode | None:
    """``PAYMENTS_JOBS``: "inline" or "rq"; empty means "rq if REDIS_URL is set"."""
    if raw is None or raw == "":
        return None
    if raw == "inline":
        return "inline"
    if raw == "rq":
        return "rq"
    raise ConfigError(f"PAYMENTS_JOBS must be 'inline' or 'rq', not {raw!r}")


_TRUE = frozenset(("1", "true", "yes", "on"))
_FALSE = frozenset(("0", "false", "no", "off"))


def _parse_flag(env_vars: dict[str, str], name: str, *, default: bool) -> bool:
    raw = env_vars.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (yes or no), not {env_vars[name]!r}")


def parse_secrets(raw: str) -> list[str]:
    """``GIVING_DATA_KEY``'s comma-separated secrets, newest first, blanks ignored."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def require_data_key_in_production(environ: Mapping[str, str], *, is_production: bool) -> None:
    """Refuse production without an explicit, long data key (call from config validation)."""
    if not is_production:
        return
    secrets_ = parse_secrets(environ.get(DATA_KEY_VAR, ""))
    if not secrets_:
        raise ConfigError(
            f"Production needs {DATA_KEY_VAR}: a random secret of {MIN_PRODUCTION_SECRET_LENGTH}+"
            " characters that encrypts children's records (keep it outside the database backups)"
        )
    if len(secrets_[0]) < MIN_PRODUCTION_SECRET_LENGTH:
        raise ConfigError(
            f"{DATA_KEY_VAR}'s current secret must be at least {MIN_PRODUCTION_SECRET_LENGTH} "
            "characters long"
        )


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
    require_data_key_in_production({DATA_KEY_VAR: settings.data_key or ""}, is_production=True)


SETTINGS_KEY = "giving.settings"


def settings_of(app: Flask) -> Settings:
    """The settings ``create_app`` resolved for ``app``."""
    settings = app.extensions[SETTINGS_KEY]
    assert isinstance(settings, Settings)
    return settings


def current_settings() -> Settings:
    """The running app's settings (inside an app or request context)."""
    return settings_of(current_app)
