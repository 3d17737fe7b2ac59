"""A donor gives from the campaign page through the offline sandbox, over HTTP, end to end.

Without Stripe keys the app's provider is the sandbox: its checkout page produces signed,
Stripe-shaped events that go through the same webhook code, so these journeys exercise the
real path from the form to the ledger, the receipt and the campaign's progress.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignState
from giving.campaigns.queries import campaign_progress
from giving.ledger.checkpoint import parse_checkpoint
from giving.ledger.merkle import leaf_hash, verify_inclusion
from giving.money import Money
from giving.payments.models import DonationIntent, IntentStatus
from tests.campaigns.factories import make_campaign
from tests.payments.conftest import Books


def give(client: FlaskClient, campaign: Campaign, **fields: str) -> str:
    """Submit the giving form; return where it sends the donor (the sandbox checkout)."""
    data = {"preset": "5000", "frequency": "one_off", "display_name": "Li Wei"}
    data.update(fields)
    response = client.post(f"/campaigns/{campaign.public_id}/give", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def press(client: FlaskClient, checkout_url: str, action: str, method: str = "card") -> str:
    page = client.get(checkout_url)
    assert page.status_code == 200
    response = client.post(checkout_url, data={"action": action, "method": method})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def receipt_path(location: str) -> str:
    return "/" + location.split("/", 3)[3]


def test_the_campaign_page_offers_the_giving_form_in_the_campaigns_currency(
    client: FlaskClient, campaign: Campaign
) -> None:
    html = client.get(f"/c/{campaign.slug}").get_data(as_text=True)

    assert "Give to this campaign" in html
    assert f'action="/campaigns/{campaign.public_id}/give#give"' in html
    assert "CN¥50.00" in html
    assert "CN¥200.00" in html
    assert "0 donors so far" in html


def test_a_gift_through_the_sandbox_is_recorded_with_its_fee_and_moves_the_progress(
    client: FlaskClient, session: Session, campaign: Campaign, books: Books
) -> None:
    checkout = give(client, campaign, preset="5000", message="加油！")
    assert checkout.startswith("/sandbox/checkout/cs_sbx_")
    assert campaign_progress(session, campaign).raised_minor == 0  # pending counts for nothing

    receipt = press(client, checkout, "pay", method="wechat_pay")

    assert receipt.startswith("http://giving.test/donations/")
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    donation, fee = books.entries(campaign)
    assert books.postings(donation)["processor:sandbox"] == 5000
    assert books.postings(fee)[f"campaign:{campaign.public_id}:fund"] == 195  # 2.9 % + ¥0.50
    progress = campaign_progress(session, campaign)
    assert (progress.raised_minor, progress.donors, progress.percent) == (5000, 1, 1)
    page = client.get(f"/c/{campaign.slug}").get_data(as_text=True)
    assert "1 donor so far" in page
    assert "Li Wei" in page
    assert "加油！" in page
    assert '<progress value="1" max="100"' in page


def test_the_sandbox_checkout_names_its_methods_and_status_in_chinese(
    client: FlaskClient, campaign: Campaign
) -> None:
    checkout = give(client, campaign)

    page = client.get(checkout, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)

    for chinese in ("银行卡", "支付宝", "微信支付", "进行中 / 未支付"):
        assert chinese in page
    for english in (">Card<", ">Alipay<", ">WeChat Pay<", "open / unpaid"):
        assert english not in page


def test_the_receipt_shows_the_entry_and_a_proof_that_verifies_against_the_signed_checkpoint(
    client: FlaskClient, campaign: Campaign, books: Books
) -> None:
    location = press(client, give(client, campaign), "pay")
    response = client.get(receipt_path(location))
    html = response.get_data(as_text=True)
    seq = books.entries(campaign)[0].seq

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert f"Ledger entry #{seq}" in html
    assert "Winter coats for Gansu" in html
    secret = re.search(r'<code id="donor-secret">([^<]+)</code>', html).group(1)  # type: ignore[union-attr]
    commitment = re.search(r'<code id="donor-commitment">([^<]+)</code>', html).group(1)  # type: ignore[union-attr]
    assert hashlib.sha256(secret.encode()).hexdigest() == commitment
    proof_url = re.search(r'data-proof-url="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert re.search(r'src="/static/receipt-verify.js\?v=[0-9a-f]+"', html)  # fingerprinted

    proof = client.get(proof_url).get_json()

    leaf_input = base64.b64decode(proof["leaf_input_b64"])
    checkpoint = parse_checkpoint(proof["checkpoint"])
    assert checkpoint.size == proof["tree_size"] > seq
    assert verify_inclusion(
        leaf_hash(leaf_input),
        seq,
        checkpoint.size,
        [bytes.fromhex(h) for h in proof["inclusion_proof"]],
        checkpoint.root_hash,
    )
    assert proof["leaf"]["donor_commitment"] == commitment
    assert b"Li Wei" not in leaf_input  # the ledger never names the donor


def test_a_delayed_payment_is_pending_on_the_receipt_until_the_sandbox_settles_it(
    client: FlaskClient, session: Session, campaign: Campaign, books: Books
) -> None:
    checkout = give(client, campaign)
    location = press(client, checkout, "later", method="alipay")

    html = client.get(receipt_path(location)).get_data(as_text=True)
    assert "Your payment is being processed" in html
    assert books.entries(campaign) == []

    press(client, checkout, "settle")

    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert "Thank you for your gift" in client.get(receipt_path(location)).get_data(as_text=True)


def test_a_failed_payment_sends_the_donor_back_and_records_nothing(
    client: FlaskClient, session: Session, campaign: Campaign, books: Books
) -> None:
    location = press(client, give(client, campaign), "fail")

    assert "/donations/cancelled/" in location
    page = client.get("/" + location.split("/", 3)[3]).get_data(as_text=True)
    assert "Nothing was charged" in page
    assert books.entries(campaign) == []
    (intent,) = session.scalars(sa.select(DonationIntent)).all()
    session.refresh(intent)
    assert intent.status == IntentStatus.FAILED


def test_an_anonymous_gift_never_shows_the_name(client: FlaskClient, campaign: Campaign) -> None:
    press(client, give(client, campaign, display_name="Secret Person", anonymous="y"), "pay")

    page = client.get(f"/c/{campaign.slug}").get_data(as_text=True)
    assert "Secret Person" not in page
    assert "Anonymous" in page


def test_a_public_message_is_stripped_of_markup_before_anyone_sees_it(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    press(
        client,
        give(client, campaign, message='<script>alert("x")</script><b>Stay warm</b> & well\u202e'),
        "pay",
    )

    intent = session.scalars(sa.select(DonationIntent)).one()
    assert intent.message == "Stay warm & well"
    page = client.get(f"/c/{campaign.slug}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "Stay warm &amp; well" in page


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"message": "call 13812345678"}, "message"),
        ({"message": "WhatsApp +852 9123 4567"}, "message"),
        ({"display_name": "Li Wei 11010519491231002X"}, "display_name"),
    ],
)
def test_a_name_or_message_that_identifies_someone_is_refused_and_nothing_is_started(
    fields: dict[str, str], field: str, client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    data = {"preset": "5000", "frequency": "one_off", "display_name": "Li Wei", **fields}

    response = client.post(f"/campaigns/{campaign.public_id}/give", data=data)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error">This text cannot be published because it seems' in page
    assert session.scalars(sa.select(DonationIntent)).all() == []
    assert "13812345678" not in client.get(f"/c/{campaign.slug}").get_data(as_text=True)


def test_a_name_or_message_stored_before_it_was_scanned_is_withheld_from_the_campaign_page(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    press(client, give(client, campaign, display_name="Li Wei", message="Stay warm"), "pay")
    intent = session.scalars(sa.select(DonationIntent)).one()
    intent.display_name = "Li 13812345678"
    intent.message = "call +852 9123 4567"
    session.flush()

    page = client.get(f"/c/{campaign.slug}").get_data(as_text=True)

    assert "13812345678" not in page
    assert "9123 4567" not in page
    assert "Anonymous" in page


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"preset": "", "custom_amount": "abc"}, "Enter an amount such as 50 or 49.50."),
        ({"custom_amount": "4.99"}, "The smallest gift is CN¥5.00."),
        ({"custom_amount": "50.001"}, "Use at most 2 decimal places"),
        ({"custom_amount": "50000.01"}, "The largest gift online is CN¥50,000.00."),
        ({"custom_amount": "NaN"}, "Enter an amount such as 50 or 49.50."),
        ({"custom_amount": "-10"}, "Enter an amount such as 50 or 49.50."),
        ({"preset": "123456"}, "Choose or enter an amount."),
        ({"message": "字" * 281}, "Field cannot be longer than 280 characters."),
    ],
)
def test_bad_amounts_and_messages_get_a_clear_error_and_nothing_is_started(
    fields: dict[str, str], error: str, client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    data = {"preset": "5000", "frequency": "one_off", **fields}

    response = client.post(f"/campaigns/{campaign.public_id}/give", data=data)

    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert session.scalars(sa.select(DonationIntent)).all() == []


def test_a_chinese_donor_who_types_too_many_decimals_is_told_so_in_chinese(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    response = client.post(
        f"/campaigns/{campaign.public_id}/give",
        data={"custom_amount": "50.001", "frequency": "one_off"},
        headers={"Accept-Language": "zh-CN"},
    )

    assert response.status_code == 400
    assert "最多保留 2 位小数" in response.get_data(as_text=True)
    assert session.scalars(sa.select(DonationIntent)).all() == []


def test_an_amount_typed_with_its_currency_symbol_is_accepted(
    client: FlaskClient, session: Session
) -> None:
    hkd = make_campaign(session, state=CampaignState.LIVE, goal=Money(100_000, "HKD"))
    response = client.post(
        f"/campaigns/{hkd.public_id}/give",
        data={"custom_amount": "HK$50", "frequency": "one_off"},
    )

    assert response.status_code == 303, response.get_data(as_text=True)
    intent = session.scalars(sa.select(DonationIntent)).one()
    assert (intent.amount_minor, intent.currency) == (5000, "HKD")


def test_the_minimum_survives_conversion_in_every_currency(
    client: FlaskClient, session: Session
) -> None:
    for currency, too_small, smallest in (
        ("USD", "0.99", "$1.00"),
        ("HKD", "7.99", "HK$8.00"),
        ("EUR", "0.99", "€1.00"),
    ):
        other = make_campaign(session, state=CampaignState.LIVE, goal=Money(100_000, currency))
        response = client.post(
            f"/campaigns/{other.public_id}/give",
            data={"custom_amount": too_small, "frequency": "one_off"},
        )
        assert response.status_code == 400
        assert f"The smallest gift is {smallest}." in response.get_data(as_text=True)


def test_an_unknown_campaign_is_404_and_closed_frozen_or_unapproved_ones_take_no_gifts(
    client: FlaskClient, session: Session
) -> None:
    assert client.post("/campaigns/cnosuchthing0/give", data={"preset": "5000"}).status_code == 404
    for state, status in (
        (CampaignState.CLOSED, 409),
        (CampaignState.FROZEN, 409),
        (CampaignState.IN_REVIEW, 404),
        (CampaignState.DRAFT, 404),
    ):
        other = make_campaign(session, state=state)
        response = client.post(
            f"/campaigns/{other.public_id}/give", data={"preset": "5000", "frequency": "one_off"}
        )
        assert response.status_code == status, state
        page = client.get(f"/c/{other.slug}")
        assert "Continue to payment" not in page.get_data(as_text=True)
    assert session.scalars(sa.select(DonationIntent)).all() == []


def test_a_monthly_donor_cancels_from_the_receipt(
    client: FlaskClient, session: Session, campaign: Campaign, books: Books
) -> None:
    checkout = give(client, campaign, preset="1000", frequency="monthly")
    page = client.get(checkout).get_data(as_text=True)
    assert "WeChat Pay" not in page
    assert "Alipay" not in page
    location = press(client, checkout, "pay")
    path = receipt_path(location)
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert "Cancel my monthly gift" in client.get(path).get_data(as_text=True)

    response = client.post(f"{path}/cancel", follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "Your monthly gift is cancelled." in html
    assert "Cancel my monthly gift" not in html
    intent = session.scalars(sa.select(DonationIntent)).one()
    session.refresh(intent)
    assert intent.cancelled_at is not None


def test_a_receipt_link_that_does_not_exist_is_404(client: FlaskClient) -> None:
    assert client.get("/donations/not-a-real-token").status_code == 404
    assert client.get("/donations/not-a-real-token/proof/0.json").status_code == 404
