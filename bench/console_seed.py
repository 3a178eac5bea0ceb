"""Seeds audit's PostgreSQL with N requests for the console bench, in a few INSERT … SELECT generate_series (no
Kafka): two years of receipts, a realistic spread of types and channels, about 5% overdue, some extended, some held
for review, the rest mostly answered; recipients' instructions and downstream acknowledgements beside them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.audit import orm
from services.audit.migrations import SCHEMA
from services.common.migrations import upgrade

SPAN_SECONDS = 730 * 86400  # receipts spread over two years, the newest at `now`

# n -> a stable pseudo-random number 0..99 (its own for each use: the salt)
PICK = "(('x' || substr(md5(n::text || '{salt}'), 1, 8))::bit(32)::int & 2147483647) % 100"

RECORDS = f"""
WITH spread AS (
  SELECT n,
         :now - make_interval(secs => (:count - n)::float8 * :span / :count) AS received_at,
         {PICK.format(salt="type")} AS t, {PICK.format(salt="channel")} AS c,
         {PICK.format(salt="answer")} AS a, {PICK.format(salt="days")} AS d
  FROM generate_series(1, :count) AS n
), typed AS (
  SELECT *, CASE WHEN t < 30 THEN 'delete' WHEN t < 58 THEN 'opt_out' WHEN t < 70 THEN 'know_categories'
                 WHEN t < 82 THEN 'know_specific' WHEN t < 88 THEN 'correct' WHEN t < 97 THEN 'limit'
                 ELSE 'opt_in' END AS request_type,
            CASE WHEN c < 60 THEN 'web_form' WHEN c < 75 THEN 'api' WHEN c < 85 THEN 'email'
                 WHEN c < 90 THEN 'phone' WHEN c < 93 THEN 'mail' WHEN c < 95 THEN 'in_person'
                 ELSE 'agent_portal' END AS channel
  FROM spread
), due AS (
  SELECT *, received_at + CASE WHEN request_type IN ('opt_out', 'limit', 'opt_in') THEN interval '21 days'
                               ELSE interval '45 days' END AS respond_by,
            CASE WHEN request_type IN ('delete', 'know_specific', 'correct') AND d < 5
                 THEN received_at + interval '90 days' END AS extended_respond_by
  FROM typed
), answered AS (
  SELECT *, coalesce(extended_respond_by, respond_by) AS due_at,
            CASE WHEN coalesce(extended_respond_by, respond_by) < :now AND a < 5 THEN NULL  -- overdue
                 WHEN received_at + make_interval(days => d % 40) > :now THEN NULL  -- still being worked on
                 WHEN request_type = 'know_specific' AND a < 8 THEN NULL  -- held for review or open
                 ELSE received_at + make_interval(days => d % 40, hours => a) END AS responded_at
  FROM due
)
INSERT INTO request_records (request_id, subject_key, request_type, requested_type, channel, received_at,
  respond_by, extended_respond_by, extended_at, responded_at, response_nature, denial_code, denial_basis,
  review_required, completed_at, completed_nature, denied_at, denied_nature, denied_code, review_state,
  reviewed_at, due_at, answered, awaiting_review)
SELECT md5(n::text)::uuid::text, md5(n::text) || md5((n + 1)::text), request_type, request_type, channel,
  received_at, respond_by, extended_respond_by, CASE WHEN extended_respond_by IS NOT NULL
  THEN received_at + interval '30 days' END, responded_at,
  CASE WHEN responded_at IS NULL THEN NULL WHEN a >= 90 THEN 'denied' ELSE 'complied' END,
  CASE WHEN responded_at IS NOT NULL AND a >= 90 THEN 'not_verified' END,
  CASE WHEN responded_at IS NOT NULL AND a >= 90 THEN 'we could not verify the request' END,
  request_type = 'know_specific',
  CASE WHEN responded_at IS NOT NULL AND a < 90 THEN responded_at
       WHEN request_type = 'know_specific' AND responded_at IS NULL AND a BETWEEN 5 AND 7 THEN :now END,
  CASE WHEN responded_at IS NOT NULL AND a < 90 THEN 'complied'
       WHEN request_type = 'know_specific' AND responded_at IS NULL AND a BETWEEN 5 AND 7 THEN 'complied' END,
  CASE WHEN responded_at IS NOT NULL AND a >= 90 THEN responded_at END,
  CASE WHEN responded_at IS NOT NULL AND a >= 90 THEN 'denied' END,
  CASE WHEN responded_at IS NOT NULL AND a >= 90 THEN 'not_verified' END,
  CASE WHEN request_type = 'know_specific' AND responded_at IS NOT NULL AND a < 90 THEN 'approved' END,
  CASE WHEN request_type = 'know_specific' AND responded_at IS NOT NULL AND a < 90 THEN responded_at END,
  due_at, responded_at IS NOT NULL,
  request_type = 'know_specific' AND responded_at IS NULL AND a BETWEEN 5 AND 7
FROM answered
"""

# Three instructions for one delete in three; 2% of them still waiting, half of those overdue.
INSTRUCTIONS = f"""
INSERT INTO recipient_instructions (instruction_id, request_id, recipient, outcome, instructed_at, overdue_at,
  confirmed_at, awaiting)
SELECT md5('i' || r.request_id || k), r.request_id, (ARRAY['Mailer Inc', 'Ledger Co', 'Ads Partner'])[k],
  (ARRAY['delivered', 'manual', 'failed'])[1 + w % 3], r.received_at + interval '1 day',
  CASE WHEN w < 1 THEN r.received_at + interval '12 days' END,
  CASE WHEN w >= 2 THEN r.received_at + interval '3 days' END, w < 2
FROM (SELECT request_id, received_at, {PICK.format(salt="i").replace("n::text", "request_id")} AS w
      FROM request_records WHERE request_type = 'delete' AND right(request_id, 1) IN ('0', '5', 'a', 'f')) AS r,
     generate_series(1, 3) AS k
"""

# Two downstream systems acknowledge each opt-out; 1% still waiting.
DOWNSTREAM = f"""
INSERT INTO deadline_clocks (clock_id, request_id, subject_key, clock, item, started_at, due_at, satisfied_at,
  settled)
SELECT md5(r.request_id || k)::uuid::text, r.request_id, r.subject_key, 'downstream_ack',
  (ARRAY['ads', 'crm'])[k] || '@1', r.received_at, r.received_at + interval '15 days',
  CASE WHEN w >= 1 THEN r.received_at + interval '1 hour' END, true
FROM (SELECT request_id, subject_key, received_at, {PICK.format(salt="o").replace("n::text", "request_id")} AS w
      FROM request_records WHERE request_type = 'opt_out') AS r, generate_series(1, 2) AS k
"""


TALLIES = """
INSERT INTO queue_tallies (request_type, channel, answered)
SELECT request_type, channel, count(*) FROM request_records WHERE answered GROUP BY request_type, channel
"""


def seed(engine: sa.Engine, count: int, now: datetime) -> dict[str, int]:
    """Migrate, load `count` requests and their side tables, VACUUM ANALYZE; the rows of each table."""
    upgrade(SCHEMA, engine)
    indexes = list(orm.request_records.indexes)
    with engine.begin() as conn:  # a bulk load: the indexes are built once, after it
        for index in indexes:
            index.drop(conn)
        conn.execute(sa.text(RECORDS), {"now": now, "count": count, "span": SPAN_SECONDS})
        for index in indexes:
            index.create(conn)
        conn.execute(sa.text(INSTRUCTIONS))
        conn.execute(sa.text(DOWNSTREAM))
        conn.execute(sa.text(TALLIES))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("request_records", "recipient_instructions", "deadline_clocks"):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
        return {table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("request_records", "recipient_instructions", "deadline_clocks")}  # fmt: skip
