"""The demo storefront's product page: its two third-party tags inert behind intake's tag gate (or, in the broken
variant, loaded directly as a site without the gate would), the §7025(c)(6) status element and a demo sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment

from services.common.flows.page import INLINE_ID, TagDecisions

# The data map's two browser tags (devtools/demo/datamap.yaml `flows`) with the relation the page declares for them.
TAGS = (("adreach-pixel", "sharing", "adreach/pixel.js"), ("metricly-analytics", "service_provider",
                                                            "metricly/analytics.js"))  # fmt: skip
TAG_FLOWS = tuple(flow for flow, _relation, _path in TAGS)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Trail runner 2 | Example Co. Shop</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fafafa; }
header, main, footer { max-width: 46rem; margin: 0 auto; padding: 1rem 1.5rem; }
header { border-bottom: 1px solid #ddd; } footer { border-top: 1px solid #ddd; font-size: .95rem; }
.price { font-size: 1.4rem; font-weight: 600; } a { color: #0b4f9c; }
.status { background: #e6f4ea; border: 1px solid #1e7b34; color: #14532d; padding: .6rem .9rem; border-radius: 4px; }
button { font: inherit; padding: .5rem 1rem; } label { display: block; margin: .5rem 0 .2rem; }
</style>
</head>
<body>
<header><p><strong>Example Co. Shop</strong>{% if customer %} · Signed in{% endif %}</p></header>
<main>
<h1>Trail runner 2</h1>
<p id="ccpa-gpc-status" class="status" role="status" hidden></p>
<p>A light trail shoe with a grippy sole, for long days on rough ground.</p>
<p class="price">$120.00</p>
<button type="button">Add to cart</button>
{% if not customer %}
<form method="post" action="/signin">
<h2>Sign in</h2>
<label for="email">E-mail address</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<p><button type="submit">Sign in</button></p>
</form>
{% endif %}
</main>
<footer>
<p><a href="{{ intake }}/privacy/choices">Do Not Sell or Share My Personal Information</a> ·
<a href="{{ intake }}/privacy/">Privacy center</a></p>
</footer>
{% if broken %}
{% for flow, relation, path in tags %}<script src="{{ tag_host }}/{{ path }}"></script>
{% endfor %}
{% else %}
{% for flow, relation, path in tags %}<script type="text/plain" data-ccpa-flow="{{ flow }}"
  data-ccpa-relation="{{ relation }}" data-src="{{ tag_host }}/{{ path }}"></script>
{% endfor %}
{% if decisions %}<script type="application/json" id="{{ inline_id }}">{{ decisions.inline() | safe }}</script>
{% endif %}
<script src="{{ intake }}/privacy/static/tag-gate.js" data-endpoint="{{ endpoint }}"
  data-device-id="{{ visitor }}"></script>
{% endif %}
</body>
</html>
"""

_template = Environment(autoescape=True).from_string(PAGE)


@dataclass(frozen=True)
class Storefront:
    """Where the page's scripts come from, and whether it is the broken variant (no gate, no GPC handling)."""

    intake_url: str
    tag_host: str
    broken: bool = False
    decisions_url: str = ""  # intake's decision endpoint unless given (the tests point it at nothing)

    @property
    def endpoint(self) -> str:
        return self.decisions_url or f"{self.intake_url}/v1/tags/decisions"


def product_page(shop: Storefront, visitor: str, customer: bool, decisions: TagDecisions | None) -> str:
    return _template.render(intake=shop.intake_url, endpoint=shop.endpoint, tag_host=shop.tag_host, broken=shop.broken,
                            tags=TAGS,
                            visitor=visitor, customer=customer, decisions=decisions, inline_id=INLINE_ID)  # fmt: skip
