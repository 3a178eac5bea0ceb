"""The words of a data flow, as the law gives them: relations, channels, §7027(m) permitted purposes, the contract
clauses §7051 and §7053 require, and the reasons the decision library gives for a denial."""

from __future__ import annotations

from enum import StrEnum


class Relation(StrEnum):
    """What the disclosure is under the CCPA (§1798.140(ad) sale, (ah) sharing, (ag) service provider, (j)
    contractor, (ai) third party)."""

    SALE = "sale"
    SHARING = "sharing"  # for cross-context behavioural advertising
    SERVICE_PROVIDER = "service_provider"
    CONTRACTOR = "contractor"
    THIRD_PARTY = "third_party"  # disclosed to a third party for a business purpose, neither sold nor shared


class Channel(StrEnum):
    SERVER_EXPORT = "server_export"  # a batch job's file or table export
    SERVER_API = "server_api"  # a server-to-server call
    BROWSER_TAG = "browser_tag"  # a third-party script or pixel loaded by a web page


class DenyReason(StrEnum):
    GPC = "gpc"  # the browser sent Global Privacy Control (§7025)
    SALE_OPT_OUT = "sale_opt_out"
    SHARE_OPT_OUT = "share_opt_out"
    LIMITED_SENSITIVE = "limited_sensitive"  # §1798.121: the consumer limited a sensitive category the flow carries
    STATE_UNKNOWN = "state_unknown"  # the cache is too stale to know: fail closed for sale/sharing
    SENSITIVE_CONTENT = "sensitive_content"  # the payload reveals sensitive PI the flow may not carry (Healthline)
    NOT_REGISTERED = "not_registered"  # no such flow in the data map: nothing unregistered leaves


RELATIONS = frozenset(kind.value for kind in Relation)
CHANNELS = frozenset(kind.value for kind in Channel)
DENY_REASONS = frozenset(kind.value for kind in DenyReason)
OPT_OUT_RELATIONS = frozenset({Relation.SALE, Relation.SHARING})
CONTRACTED_RELATIONS = frozenset({Relation.SERVICE_PROVIDER, Relation.CONTRACTOR})
# The recipient role (data map `recipients[].role`) each relation needs.
ROLE_OF_RELATION: dict[Relation, str] = {
    Relation.SALE: "third_party",
    Relation.SHARING: "third_party",
    Relation.THIRD_PARTY: "third_party",
    Relation.SERVICE_PROVIDER: "service_provider",
    Relation.CONTRACTOR: "contractor",
}

# §7027(m)(1)-(8): the purposes for which sensitive PI may be used or disclosed although the consumer limited it.
PERMITTED_PURPOSES: dict[str, str] = {
    "perform_services": "§7027(m)(1): perform the services or provide the goods an average consumer requesting them "
    "would reasonably expect",
    "security_incidents": "§7027(m)(2): prevent, detect and investigate security incidents",
    "resist_malicious_actions": "§7027(m)(3): resist malicious, deceptive, fraudulent or illegal actions directed at "
    "the business and prosecute those responsible",
    "physical_safety": "§7027(m)(4): ensure the physical safety of natural persons",
    "short_term_transient": "§7027(m)(5): short-term, transient use, including non-personalised advertising in the "
    "current interaction, not disclosed to another third party nor used to build a profile",
    "services_on_behalf": "§7027(m)(6): perform services on behalf of the business (accounts, customer service, "
    "orders, payments, analytics, storage and similar)",
    "quality_safety": "§7027(m)(7): verify or maintain the quality or safety of a product or service the business "
    "owns or controls, and improve it",
    "not_inferring": "§7027(m)(8): collect or process it without the purpose of inferring characteristics about the "
    "consumer",
}

# §7051(a)(1)-(10): what a contract with a service provider or contractor must say.
SERVICE_PROVIDER_CLAUSES: dict[str, str] = {
    "no_sale_or_sharing": "§7051(a)(1): prohibits selling or sharing the personal information",
    "specified_purposes": "§7051(a)(2): names the limited and specified business purposes",
    "purpose_limitation": "§7051(a)(3): prohibits retaining, using or disclosing it for any other purpose",
    "relationship_limitation": "§7051(a)(4): prohibits using it outside the direct business relationship",
    "no_combining": "§7051(a)(5): prohibits combining it with personal information from other sources",
    "ccpa_compliance": "§7051(a)(6): complies with the CCPA and gives the same level of privacy protection",
    "right_to_monitor": "§7051(a)(7): lets the business take reasonable steps to ensure compliant use",
    "notice_of_inability": "§7051(a)(8): notifies the business within five business days if it can no longer comply",
    "right_to_remediate": "§7051(a)(9): lets the business stop and remediate unauthorised use",
    "consumer_requests": "§7051(a)(10): requires it to help the business answer consumer requests",
}
# §7053(a)(1)-(5): what a contract with a third party that personal information is sold or shared to must say.
THIRD_PARTY_CLAUSES: dict[str, str] = {
    "limited_purposes": "§7053(a)(1): names the limited and specified purposes it is sold or disclosed for",
    "ccpa_compliance": "§7053(a)(2): complies with the CCPA and gives the same level of privacy protection",
    "right_to_monitor": "§7053(a)(3): lets the business take reasonable steps to ensure compliant use",
    "right_to_remediate": "§7053(a)(4): lets the business stop and remediate unauthorised use",
    "notice_of_inability": "§7053(a)(5): notifies the business if it can no longer comply",
}
ALL_CLAUSES = frozenset(SERVICE_PROVIDER_CLAUSES) | frozenset(THIRD_PARTY_CLAUSES)


def required_clauses(role: str) -> dict[str, str]:
    """The clauses a recipient of this role's contract must contain."""
    return SERVICE_PROVIDER_CLAUSES if role in ("service_provider", "contractor") else THIRD_PARTY_CLAUSES
