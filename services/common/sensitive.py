"""Sensitive personal information sub-categories (§1798.140(ae)), the names every service uses for limits."""

SENSITIVE_CATEGORIES = (
    "ssn_dl_state_id_passport",  # (1)(A)
    "account_login_financial_credentials",  # (1)(B)
    "precise_geolocation",  # (1)(C)
    "racial_ethnic_religious_union",  # (1)(D)
    "citizenship_immigration",  # (1)(D), AB 947
    "mail_email_text_contents",  # (1)(E)
    "genetic",  # (1)(F)
    "neural_data",  # (1)(G), SB 1223
    "biometric_identification",  # (2)(A)
    "health",  # (2)(B)
    "sex_life_orientation",  # (2)(C)
)
