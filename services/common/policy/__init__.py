"""The privacy-policy check (`ccpa check policy`): is a privacy policy current (updated in the last 12 months,
§1798.130(a)(5)) and does it make the disclosures §7011 requires?"""

from services.common.policy.checks import DISCLOSURES, Disclosure, PolicyCheck, check_policy
from services.common.policy.document import PolicyDocument, read_html, read_text

__all__ = ["DISCLOSURES", "Disclosure", "PolicyCheck", "PolicyDocument", "check_policy", "read_html", "read_text"]
