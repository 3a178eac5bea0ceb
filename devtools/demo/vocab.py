"""Fixed vocabularies of the demo company (Juniper & Finch, an online home-goods shop): places, products, agents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

BUSINESS = "Juniper & Finch Home Goods, Inc."
# Who the privacy center, the e-mails and the access report name in the local stack (CCPA_BUSINESS_*).
BUSINESS_CONTACT = {
    "CCPA_BUSINESS_NAME": BUSINESS,
    "CCPA_BUSINESS_CONTACT_EMAIL": "privacy@juniperfinch.example",
    "CCPA_BUSINESS_CONTACT_PHONE": "1-800-555-0142",
    "CCPA_BUSINESS_POSTAL_ADDRESS": "200 Market Street, Sacramento, CA 95814",
    "CCPA_MAIL_FROM": "Juniper & Finch Privacy <privacy@juniperfinch.example>",
}
SHOP = "https://www.juniperfinch.example"

# Data starts before the CPRA look-back date (2022-01-01), so date-range filters have something to cut.
EPOCH = datetime(2021, 6, 1)
END = datetime(2026, 11, 20)
RECENT = datetime(2026, 10, 20)  # sessions and access logs cover the last month only


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    region: str
    latitude: float
    longitude: float


# One place per postal code that devtools/demo/company.py hands out.
PLACES: dict[str, Place] = {
    "94103": Place("San Francisco", "CA", 37.77250, -122.41470),
    "94110": Place("San Francisco", "CA", 37.74860, -122.41580),
    "90012": Place("Los Angeles", "CA", 34.06140, -118.23850),
    "92101": Place("San Diego", "CA", 32.71940, -117.16280),
    "95814": Place("Sacramento", "CA", 38.58040, -121.49220),
    "94301": Place("Palo Alto", "CA", 37.44430, -122.15050),
    "90401": Place("Santa Monica", "CA", 34.01660, -118.49250),
    "95112": Place("San Jose", "CA", 37.34450, -121.88270),
    "93101": Place("Santa Barbara", "CA", 34.41940, -119.70670),
    "92612": Place("Irvine", "CA", 33.66040, -117.82630),
}

STREET_NAMES = (
    "Market",
    "Valencia",
    "Oak",
    "Cedar",
    "Mission",
    "Alvarado",
    "Sunset",
    "Grand",
    "Laurel",
    "Pine",
    "Lincoln",
    "Harbor",
    "Willow",
    "Magnolia",
    "Juniper",
    "Elm",
)
STREET_SUFFIXES = ("St", "Ave", "Blvd", "Way", "Dr", "Ct")


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    price_cents: int


PRODUCTS = (
    Product("JF-LMP-0412", "Walnut desk lamp", 8900),
    Product("JF-THR-1180", "Wool throw blanket", 12900),
    Product("JF-MUG-0031", "Stoneware mug, set of 4", 4400),
    Product("JF-PLN-2207", "Linen pillow cover", 3200),
    Product("JF-RUG-5520", "Jute area rug 5x8", 21900),
    Product("JF-CAN-0904", "Cedar & sage candle", 2800),
    Product("JF-SHF-3310", "Oak floating shelf", 7600),
    Product("JF-TWL-0716", "Turkish cotton towel", 3900),
    Product("JF-PLT-1402", "Ceramic planter", 5400),
    Product("JF-CLK-0088", "Brass wall clock", 9900),
)

USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1"
    " Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0"
    " Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
)
PLATFORMS = ("macos", "windows", "windows", "ios", "android", "linux")  # aligned with USER_AGENTS

PAGES = (
    "/",
    "/products/walnut-desk-lamp",
    "/products/wool-throw-blanket",
    "/collections/kitchen",
    "/cart",
    "/checkout",
    "/account/orders",
    "/search?q=rug",
    "/help/returns",
    "/products/jute-area-rug",
)
PAGE_TITLES = {
    "/": "Juniper & Finch: home goods made to last",
    "/products/walnut-desk-lamp": "Walnut desk lamp | Juniper & Finch",
    "/products/wool-throw-blanket": "Wool throw blanket | Juniper & Finch",
    "/collections/kitchen": "Kitchen | Juniper & Finch",
    "/cart": "Your cart | Juniper & Finch",
    "/checkout": "Checkout | Juniper & Finch",
    "/account/orders": "Your orders | Juniper & Finch",
    "/search?q=rug": "Search results for rug | Juniper & Finch",
    "/help/returns": "Returns and refunds | Juniper & Finch",
    "/products/jute-area-rug": "Jute area rug | Juniper & Finch",
}
# The shop's journal articles and on-site searches whose titles reveal a reader's health or orientation: what the
# scanner's content check must flag in a field shared with the ad network (Healthline 2025).
REVEALING_TITLES = (
    "Sleeping better with sleep apnea: a bedroom guide | Juniper & Finch Journal",
    "Kitchen swaps after a type 2 diabetes diagnosis | Juniper & Finch Journal",
    "A calm home when you live with anxiety | Juniper & Finch Journal",
    "Setting up a recovery room after chemotherapy | Juniper & Finch Journal",
    "Search results for pregnancy pillow | Juniper & Finch",
    "Coming out at home: a room of your own | Juniper & Finch Journal",
)
REVEALING_EVERY = 25  # about one event in 25 carries one of them
EVENT_TYPES = ("page_view", "page_view", "page_view", "add_to_cart", "search", "checkout_started")
APP_VERSIONS = ("5.2.10.3", "5.3.0.12", "5.3.1.40", "6.0.2.7", "6.1.0.118")  # dotted quads, not addresses

ORDER_STATUSES_OLD = ("delivered", "delivered", "delivered", "delivered", "refunded", "cancelled")
ORDER_STATUSES_NEW = ("processing", "shipped", "delivered")

CARD_RANGES = (  # brand, test BIN (issuer test ranges), length
    ("visa", "411111", 16),
    ("visa", "424242", 16),
    ("visa", "400005", 16),
    ("mastercard", "555555", 16),
    ("mastercard", "510510", 16),
    ("mastercard", "222300", 16),
    ("amex", "378282", 15),
    ("amex", "371449", 15),
    ("discover", "601111", 16),
)

TICKET_TEMPLATES = (
    ("Where is my order?", "Hi, order {order} still hasn't arrived. Please email me at {email} or call {phone}."),
    ("Can't sign in", "I can't log in to my account. My email is {email}; text a code to {phone} please."),
    ("Damaged item", "The lamp arrived with a cracked base. You can reach me at {phone} or {email}. Thanks!"),
    ("Change of address", "Please update my shipping address. Best to reach me at {email}, or {phone} after 5pm."),
)
TICKET_CHANNELS = ("email", "chat", "phone", "web_form")
TICKET_STATUSES = ("open", "pending", "solved", "closed")

SUBSCRIBE_SOURCES = ("checkout", "footer_form", "popup", "sweepstakes")
CAMPAIGNS = (
    "2022-spring-sale",
    "2023-holiday-gift-guide",
    "2024-new-arrivals",
    "2025-summer-clearance",
    "2026-fall-refresh",
)
MAIL_LISTS = ("newsletter", "order-updates", "back-in-stock", "reviews")
MAIL_TEMPLATES = ("order_confirmation", "shipping_notice", "weekly_newsletter", "review_request", "cart_reminder")
IMPORT_BATCHES = ("crm-2019-07", "crm-2020-02", "popup-store-2020-11")
UPSTREAMS = ("10.0.3.7:8080", "10.0.3.8:8080", "10.0.4.21:8080")
