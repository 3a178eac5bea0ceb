"""Tables of the demo company's two SQL databases, planted (unmapped) columns included; see devtools/demo/planted.py."""

from __future__ import annotations

import sqlalchemy as sa

from devtools.demo import company

When = sa.DateTime(timezone=True)
# On SQLite only INTEGER PRIMARY KEY is the rowid itself; a BIGINT key would cost a second b-tree per table.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AccountId = sa.String(32)


def _account(nullable: bool = False) -> sa.Column[str]:
    return sa.Column("account_id", AccountId, nullable=nullable, index=True)


app_metadata = sa.MetaData()
customers = company.customers.to_metadata(app_metadata)

account_logins = sa.Table(
    "account_logins",
    app_metadata,
    sa.Column("account_id", AccountId, primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("password_changed_at", When, nullable=False),
    sa.Column("last_login_at", When, nullable=False),
    sa.Column("last_login_ip", sa.String(45), nullable=False, index=True),
)

addresses = sa.Table(
    "addresses",
    app_metadata,
    sa.Column("address_id", Id, primary_key=True, autoincrement=False),
    _account(),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("recipient_name", sa.String(200), nullable=False),
    sa.Column("street", sa.String(200), nullable=False),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("region", sa.String(2), nullable=False),
    sa.Column("postal_code", sa.String(10), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("created_at", When, nullable=False),
)

orders = sa.Table(
    "orders",
    app_metadata,
    sa.Column("order_id", Id, primary_key=True, autoincrement=False),
    _account(),
    sa.Column("placed_at", When, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("total_cents", sa.Integer, nullable=False),
    sa.Column("shipping_address_id", sa.BigInteger, nullable=False),
    sa.Column("gift_recipient_email", sa.String(320)),
)

order_items = sa.Table(
    "order_items",
    app_metadata,
    sa.Column("item_id", Id, primary_key=True, autoincrement=False),
    sa.Column("order_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("sku", sa.String(20), nullable=False),
    sa.Column("product_name", sa.String(100), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_cents", sa.Integer, nullable=False),
)

# Job applications (devtools/demo/applicants.py): applicants, not customers; the data map says so (subject_types).
job_applications = sa.Table(
    "job_applications",
    app_metadata,
    sa.Column("application_id", sa.String(16), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("postal_code", sa.String(10), nullable=False),
    sa.Column("position", sa.String(100), nullable=False),
    sa.Column("applied_at", When, nullable=False),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("resume_summary", sa.Text, nullable=False),
    sa.Column("interview_notes", sa.Text, nullable=False),
)

payment_methods = sa.Table(
    "payment_methods",
    app_metadata,
    sa.Column("payment_method_id", Id, primary_key=True, autoincrement=False),
    _account(),
    sa.Column("brand", sa.String(20), nullable=False),
    sa.Column("card_number", sa.String(19), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("expires", sa.String(5), nullable=False),
    sa.Column("billing_postal_code", sa.String(10), nullable=False),
    sa.Column("created_at", When, nullable=False),
)

support_tickets = sa.Table(
    "support_tickets",
    app_metadata,
    sa.Column("ticket_id", Id, primary_key=True, autoincrement=False),
    _account(),
    sa.Column("opened_at", When, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("subject_line", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("callback_number", sa.String(20)),
)

analytics_events = sa.Table(
    "analytics_events",
    app_metadata,
    sa.Column("event_id", Id, primary_key=True, autoincrement=False),
    sa.Column("occurred_at", When, nullable=False),
    sa.Column("event_type", sa.String(30), nullable=False),
    _account(nullable=True),
    sa.Column("device_id", sa.String(36), nullable=False, index=True),
    sa.Column("cookie_id", sa.String(40), nullable=False, index=True),
    sa.Column("ip_address", sa.String(45), nullable=False, index=True),
    sa.Column("user_agent", sa.String(300)),  # nullable: de-identified in place on deletion
    sa.Column("page_url", sa.String(300), nullable=False),
    sa.Column("page_title", sa.String(200)),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("region", sa.String(2), nullable=False),
    # Double precision on every dialect: MySQL/MariaDB's FLOAT (what sa.Float becomes there) keeps about 7
    # significant digits, and precise geolocation (§1798.140(w)) would lose its fifth decimal.
    sa.Column("latitude", sa.Double),
    sa.Column("longitude", sa.Double),
    sa.Column("app_version", sa.String(20), nullable=False),
    sa.Column("geo_hint", sa.String(40)),
)

identity_checks = sa.Table(
    "identity_checks",
    app_metadata,
    sa.Column("check_id", Id, primary_key=True, autoincrement=False),
    _account(),
    sa.Column("checked_at", When, nullable=False),
    sa.Column("document_type", sa.String(20), nullable=False),
    sa.Column("ssn", sa.String(11)),  # erased on deletion, the check is kept
    sa.Column("id_number", sa.String(20)),
    sa.Column("result", sa.String(10), nullable=False),
)

legacy_imports = sa.Table(  # a forgotten CRM import: planted, in no data map
    "legacy_imports",
    app_metadata,
    sa.Column("import_id", Id, primary_key=True, autoincrement=False),
    sa.Column("batch", sa.String(30), nullable=False),
    sa.Column("imported_at", When, nullable=False),
    sa.Column("contact_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("home_phone", sa.String(20), nullable=False),
    sa.Column("tax_id", sa.String(11), nullable=False),
    sa.Column("birth_date", sa.String(10), nullable=False),
    sa.Column("street_address", sa.String(300), nullable=False),
)

marketing_metadata = sa.MetaData()
subscribers = sa.Table(
    "subscribers",
    marketing_metadata,
    sa.Column("subscriber_id", Id, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("zip", sa.String(10), nullable=False),
    sa.Column("source", sa.String(30), nullable=False),
    sa.Column("subscribed_at", When, nullable=False),
)

campaign_clicks = sa.Table(
    "campaign_clicks",
    marketing_metadata,
    sa.Column("click_id", Id, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("campaign", sa.String(60), nullable=False),
    sa.Column("clicked_at", When, nullable=False),
    sa.Column("ip", sa.String(45), nullable=False, index=True),
    sa.Column("landing_url", sa.String(500), nullable=False),
)

# Emails are matched case-insensitively (lower(email) IN …): an index on the expression keeps that a look-up.
sa.Index("ix_subscribers_email_lower", sa.func.lower(subscribers.c.email))
sa.Index("ix_campaign_clicks_email_lower", sa.func.lower(campaign_clicks.c.email))
sa.Index("ix_job_applications_email_lower", sa.func.lower(job_applications.c.email))
