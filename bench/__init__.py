"""`make bench`: pipeline figures beside floors on the same broker, database and HTTP stack (DESIGN.md §9).

Benchmarks report numbers; they assert nothing about speed. See docs/benchmarks.md.
"""
