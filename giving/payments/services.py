"""Donation rules: who may give to what, how much, and starting or cancelling a checkout.

A donor's choices become a pending ``DonationIntent``; only a paid charge reported by the
provider turns it into ledger entries (handlers.py). The receipt token is shown once (in the
success URL) and stored only as its SHA-256; the donor secret printed on the receipt is
derived from that token, and the SHA-256 of the secret is the commitment the ledger entry
carries, so the public ledger never names a donor yet a donor can prove an entry is theirs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.audit.services import record_action
from giving.campaigns.models import Campaign, CampaignState
from giving.db import utcnow
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError
from giving.money import AmountError, AmountProblem, Money, parse_major_amount
from giving.payments.config import Provider
from giving.payments.gateway import GatewayError, PaymentGateway, payment_method_types
from giving.payments.handling import INTENT_METADATA_KEY
from giving.payments.models import DonationIntent, Frequency, PaymentFlag
from giving.payments.queries import intent_by_public_id
from giving.scanner import check_public_text
from giving.text import plain_text

# Smallest gifts that still clear Stripe's minimum charge (about US$0.50) after conversion
# to the account's settlement currency, with room for exchange-rate swings.
MINIMUMS: dict[str, int] = {"CNY": 500, "USD": 100, "HKD": 800, "EUR": 100}
# A sane ceiling for one gift from a phone (WeChat Pay caps single payments near ¥50,000).
MAXIMUMS: dict[str, int] = {"CNY": 50_000_00, "USD": 10_000_00, "HKD": 80_000_00, "EUR": 10_000_00}
PRESETS: dict[str, tuple[int, ...]] = {
    "CNY": (1000, 5000, 10000, 20000),
    "USD": (500, 1000, 2500, 5000),
    "HKD": (5000, 10000, 20000, 50000),
    "EUR": (500, 1000, 2500, 5000),
}
# Stripe accepts a Checkout Session's expires_at from 30 minutes to 24 hours after creation;
# a minute's margin each side covers the clock difference and the time the request takes.
CHECKOUT_SHORTEST = dt.timedelta(minutes=31)
CHECKOUT_LONGEST = dt.timedelta(hours=23, minutes=59)
NAME_MAX = 60
MESSAGE_MAX = 280
_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class NewIntent:
    intent: DonationIntent
    receipt_token: str


# --- tokens, secrets and commitments ------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def donor_secret(receipt_token: str) -> str:
    """The secret printed on the receipt, derived from its token so neither is stored."""
    digest = hmac.new(receipt_token.encode(), b"giving donor secret v1", hashlib.sha256).hexdigest()
    return "gds1-" + digest[:40]


def donor_commitment(secret: str) -> str:
    """What the ledger publishes: the SHA-256 (hex) of the secret's UTF-8 bytes."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_intent_id() -> str:
    return "gi_" + secrets.token_urlsafe(18)


# --- what a donor may give --------------------------------------------------------------------


def donatable_campaign(session: Session, public_id: str) -> Campaign:
    """The campaign by public id, if it is taking donations now."""
    campaign = session.scalar(sa.select(Campaign).where(Campaign.public_id == public_id))
    if campaign is None or not campaign.is_public:
        raise NotFound(_("No such campaign."))
    require_taking_gifts(campaign)
    return campaign


def require_taking_gifts(campaign: Campaign, at: dt.datetime | None = None) -> None:
    """Refuse a gift to a campaign that is not live or whose end date is over (at ``at``).

    Every way of starting a gift asks this: the give form, creating an intent and its
    checkout, and the sandbox's pay buttons. A payment the provider completes after the end
    anyway is recorded and flagged for the host (handlers.py), since the money moved.
    """
    if campaign.state != CampaignState.LIVE:
        raise Conflict(_("This campaign is not taking donations now."))
    if campaign.has_ended(at or utcnow()):
        assert campaign.ends_on is not None
        raise Conflict(
            _(
                "This campaign ended on %(date)s and no longer takes gifts.",
                date=format_date(campaign.ends_on, format="long"),
            )
        )


def check_amount(text: str, currency: str, *, locale: str = "en") -> Money:
    """What the donor typed (read in their ``locale``), as Money within the per-currency
    minimum and maximum."""
    if not (text or "").strip():
        raise ValidationError(_("Choose or enter an amount."), field="amount")
    try:
        amount = parse_major_amount(text, currency, locale=locale)
    except AmountError as exc:
        if exc.problem is AmountProblem.TOO_MANY_DECIMALS:
            raise ValidationError(
                ngettext(
                    "Use at most %(num)d decimal place, such as 50 or 49.5.",
                    "Use at most %(num)d decimal places, such as 50 or 49.50.",
                    exc.digits,
                )
                if exc.digits
                else _("Enter a whole amount, such as 50."),
                field="amount",
            ) from None
        raise ValidationError(_("Enter an amount such as 50 or 49.50."), field="amount") from None
    if amount.amount_minor < MINIMUMS[currency]:
        raise ValidationError(
            _("The smallest gift is %(amount)s.", amount=_major(MINIMUMS[currency], currency)),
            field="amount",
        )
    if amount.amount_minor > MAXIMUMS[currency]:
        raise ValidationError(
            _(
                "The largest gift online is %(amount)s.",
                amount=_major(MAXIMUMS[currency], currency),
            ),
            field="amount",
        )
    return amount


def _major(amount_minor: int, currency: str) -> str:
    from giving.i18n import format_money

    return format_money(amount_minor, currency)


def clean_public_text(text: str | None, *, maximum: int, field: str) -> str | None:
    """Plain, single-spaced public text: tags, control and direction-override characters go."""
    if not text:
        return None
    cleaned = plain_text(unicodedata.normalize("NFC", text))
    cleaned = _CONTROL.sub("", cleaned.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = "\n".join(_SPACES.sub(" ", line).strip() for line in cleaned.split("\n"))
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned).strip()
    # nh3 escapes what it keeps; show the characters, Jinja escapes them again on output.
    cleaned = cleaned.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if len(cleaned) > maximum:
        raise ValidationError(_("Use at most %(max)s characters.", max=maximum), field=field)
    return cleaned or None


def create_intent(
    session: Session,
    *,
    campaign: Campaign,
    amount: Money,
    frequency: Frequency,
    display_name: str | None,
    anonymous: bool,
    message: str | None,
    email: str | None,
    donor: User | None,
    provider: Provider,
) -> NewIntent:
    """A pending gift; nothing counts until the provider reports it paid."""
    require_taking_gifts(campaign)
    if amount.currency != campaign.currency:
        raise ValidationError(
            _("This campaign takes gifts in %(currency)s.", currency=campaign.currency),
            field="amount",
        )
    check_amount(str(amount.major), amount.currency)
    name = clean_public_text(display_name, maximum=NAME_MAX, field="display_name")
    if name and "\n" in name:
        name = " ".join(name.split())
    note = clean_public_text(message, maximum=MESSAGE_MAX, field="message")
    # The name and message are shown on the campaign page (and wherever its supporters are
    # listed), so they are refused like any other public text if they identify someone.
    if name:
        check_public_text(session, campaign, name, field="display_name")
    if note:
        check_public_text(session, campaign, note, field="message")
    address = None
    if email and email.strip():
        from giving.accounts.services import normalise_email

        address = normalise_email(email)
    token = secrets.token_urlsafe(32)
    intent = DonationIntent(
        public_id=new_intent_id(),
        campaign_id=campaign.id,
        campaign=campaign,
        amount_minor=amount.amount_minor,
        currency=amount.currency,
        frequency=frequency.value,
        display_name=name,
        anonymous=anonymous,
        message=note,
        email=address,
        donor_user_id=donor.id if donor is not None else None,
        receipt_token_sha256=hash_token(token),
        donor_commitment=donor_commitment(donor_secret(token)),
        provider=provider,
    )
    session.add(intent)
    session.flush()
    return NewIntent(intent=intent, receipt_token=token)


def checkout_expiry(campaign: Campaign, now: dt.datetime) -> int | None:
    """When the checkout page should stop taking payment: the campaign's end, within the
    window Stripe allows (30 minutes to 24 hours after creation); None for Stripe's default.

    Within half an hour of the end a page still lives 30 minutes; a payment made on it after
    the end is recorded and flagged for the host, like any that completes late.
    """
    ends_at = campaign.ends_at
    if ends_at is None or ends_at >= now + CHECKOUT_LONGEST:
        return None
    return int(max(ends_at, now + CHECKOUT_SHORTEST).timestamp())


def checkout_params(
    intent: DonationIntent,
    *,
    success_url: str,
    cancel_url: str,
    product_name: str,
    now: dt.datetime | None = None,
) -> dict[str, object]:
    """Stripe Checkout Session parameters for an intent (documented API shape)."""
    currency = intent.currency.lower()
    metadata = {INTENT_METADATA_KEY: intent.public_id, "campaign": intent.campaign.public_id}
    price_data: dict[str, object] = {
        "currency": currency,
        "unit_amount": intent.amount_minor,
        "product_data": {"name": product_name[:250]},
    }
    params: dict[str, object] = {
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": intent.public_id,
        "metadata": metadata,
        "payment_method_types": payment_method_types(currency, monthly=intent.is_monthly),
        "locale": "auto",
    }
    if intent.email:
        params["customer_email"] = intent.email
    expires_at = checkout_expiry(intent.campaign, now or utcnow())
    if expires_at is not None:
        params["expires_at"] = expires_at
    if intent.is_monthly:
        price_data["recurring"] = {"interval": "month"}
        params["mode"] = "subscription"
        params["subscription_data"] = {"metadata": metadata, "description": product_name[:500]}
    else:
        params["mode"] = "payment"
        params["submit_type"] = "donate"
        params["payment_intent_data"] = {"metadata": metadata, "description": product_name[:500]}
        if "wechat_pay" in params["payment_method_types"]:  # type: ignore[operator]
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    params["line_items"] = [{"price_data": price_data, "quantity": 1}]
    return params


def start_checkout(
    session: Session,
    gateway: PaymentGateway,
    new: NewIntent,
    *,
    success_url: str,
    cancel_url: str,
) -> str:
    """Create the provider's checkout page for the intent and return where to send the donor."""
    intent = new.intent
    require_taking_gifts(intent.campaign)
    product = _("Gift to %(title)s", title=intent.campaign.title)
    if intent.is_monthly:
        product = _("Monthly gift to %(title)s", title=intent.campaign.title)
    params = checkout_params(
        intent, success_url=success_url, cancel_url=cancel_url, product_name=product
    )
    try:
        created = gateway.create_checkout_session(
            params, idempotency_key=f"giving-checkout-{intent.public_id}"
        )
    except GatewayError as exc:
        raise PaymentProviderUnavailable(
            _(
                "We could not reach the payment service just now. Nothing was charged; "
                "please try again in a minute."
            )
        ) from exc
    intent.checkout_session_id = str(created["id"])
    session.flush()
    return str(created["url"])


def require_checkout_payable(session: Session, checkout: dict[str, Any]) -> None:
    """The sandbox's pay buttons: refuse a payment to a campaign that no longer takes gifts."""
    public_id = checkout.get("client_reference_id")
    intent = intent_by_public_id(session, public_id) if isinstance(public_id, str) else None
    if intent is not None:
        require_taking_gifts(intent.campaign)


class PaymentProviderUnavailable(Conflict):
    """The provider did not answer; the donor should simply try again."""

    status_code = 503


# --- receipts and monthly gifts ---------------------------------------------------------------


def intent_by_receipt_token(session: Session, token: str) -> DonationIntent:
    if not token or len(token) > 100:
        raise NotFound(_("No such receipt."))
    intent = session.scalar(
        sa.select(DonationIntent).where(DonationIntent.receipt_token_sha256 == hash_token(token))
    )
    if intent is None:
        raise NotFound(_("No such receipt."))
    return intent


def cancel_monthly(
    session: Session, gateway: PaymentGateway, intent: DonationIntent
) -> DonationIntent:
    """Stop a monthly gift; the holder of the receipt link is the donor."""
    if not intent.is_monthly:
        raise Conflict(_("Only monthly gifts can be cancelled."))
    if intent.cancelled_at is not None:
        return intent
    if intent.subscription_id:
        try:
            gateway.cancel_subscription(
                intent.subscription_id, idempotency_key=f"giving-cancel-{intent.public_id}"
            )
        except GatewayError as exc:
            raise PaymentProviderUnavailable(
                _("We could not reach the payment service just now; please try again in a minute.")
            ) from exc
    intent.cancelled_at = utcnow()
    record_action(
        session,
        actor_id=intent.donor_user_id,
        action="donation.monthly_cancelled",
        subject_type="donation_intent",
        subject_id=intent.public_id,
    )
    session.flush()
    return intent


def resolve_flag(session: Session, *, actor: User, flag_id: int, note: str) -> PaymentFlag:
    """An admin marks a flag as dealt with, saying how; the audit log keeps who and when."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can do that."))
    flag = session.get(PaymentFlag, flag_id)
    if flag is None:
        raise NotFound(_("No such flag."))
    if flag.resolved_at is not None:
        raise Conflict(_("That flag is already resolved."))
    text = (note or "").strip()
    if not text:
        raise ValidationError(_("Say what was done about it."), field="note")
    flag.resolved_at = utcnow()
    flag.resolved_by_id = actor.id
    flag.resolution_note = text[:2000]
    record_action(
        session,
        actor_id=actor.id,
        action="payment_flag.resolved",
        subject_type="payment_flag",
        subject_id=flag.id,
        note=flag.resolution_note,
    )
    session.flush()
    return flag
